/**
 * Temporal goes away and comes back while the API keeps running: chats are refused plainly (503, nothing
 * saved) while it is down, and work again once it is back, without restarting the API. The API reaches
 * Temporal through a TCP proxy the test closes and reopens; the workers connect directly.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterAll, beforeAll, test } from 'vitest';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

/** A TCP proxy to Temporal that can be taken down (every connection cut) and brought back on its port. */
function temporalProxy(target: string) {
  const [host, port] = [target.split(':')[0]!, Number(target.split(':')[1])];
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let listenPort = 0;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  return {
    address: () => `127.0.0.1:${listenPort}`,
    async up() {
      server = net.createServer((client) => {
        const upstream = net.connect(port, host);
        track(client);
        track(upstream);
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      await new Promise<void>((resolve) => server!.listen(listenPort, '127.0.0.1', resolve));
      listenPort = (server.address() as net.AddressInfo).port;
    },
    async down() {
      const closing = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      for (const socket of sockets) socket.destroy();
      await closing;
      server = undefined;
    },
  };
}

let stack: ChatStack;
let proxied: TestApp;
const proxy = temporalProxy(process.env.TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:17233');

beforeAll(async () => {
  stack = await startChatStack();
  await proxy.up();
  // Same database, Redis prefix and task queue as the stack: its worker serves the runs this API starts.
  proxied = await startTestApp({ ...stack.environment, TEMPORAL_ADDRESS: proxy.address() });
});
afterAll(async () => {
  await proxied?.close();
  await proxy.down();
  await stack?.close();
  await cleanUpTestData(stack.app.config);
});

const chat = (token: string, text: string) =>
  requestSse(`${proxied.baseUrl}/api/agents/chat/custom`, { method: 'POST', token, body: { endpoint: 'demo', model: 'demo-fast', text, conversationId: null }, timeoutMs: 30_000 });

test('Temporal down: chats answer 503 at once and nothing is saved; back up: chats work again, same API process', async () => {
  const http = createHttpClient(proxied.baseUrl);
  const user = await registerAndLogin(http, 'outage');
  const before = await chat(user.token, 'before the outage [tokens=5]');
  assert.ok(finalEvent(before.events), JSON.stringify(before.events.at(-1)));

  await proxy.down();
  const startedAt = Date.now();
  const refused = await chat(user.token, 'during the outage [tokens=5]');
  assert.equal(refused.status, 503, JSON.stringify(refused.body ?? refused.events));
  assert.match(refused.body.message, /unavailable.*not saved/);
  assert.ok(Date.now() - startedAt < 15_000, `refused in ${Date.now() - startedAt} ms`);
  assert.equal((await http.get('/api/convos', { token: user.token })).body.conversations.length, 1, 'only the chat from before the outage');
  assert.equal((await http.get('/api/agents/chat/active', { token: user.token })).body.active.length, 0);

  await proxy.up();
  // The gRPC channel reconnects with backoff: the first chats after the return may still be refused.
  const deadline = Date.now() + 45_000;
  let after: Awaited<ReturnType<typeof chat>> | undefined;
  while (Date.now() < deadline) {
    after = await chat(user.token, 'after the outage [tokens=5]');
    if (after.status === 200) break;
    assert.equal(after.status, 503, 'refused plainly while reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.equal(after?.status, 200, 'chats work again within 45 s of Temporal coming back');
  assert.ok(finalEvent(after!.events), JSON.stringify(after!.events.at(-1)));
}, 120_000);
