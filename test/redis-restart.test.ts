/**
 * Redis is not forever: a Redis server of the test's own (persistence off) is killed and started again
 * ten words into a hundred-word reply. The run completes; the live follower continues (or is ended so it
 * reconnects); a client resuming with its Last-Event-ID gets the rest with no gap and no repeat; the
 * saved reply equals what clients were shown.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, test } from 'vitest';
import { findFreePort, waitForPort } from '../infra/local-services.ts';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse, type SseEvent } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let port: number;
let redisServer: ChildProcess;
let stack: ChatStack;

async function startRedis(): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitForPort(port, 'redis-server', child, 10_000);
  return child;
}

async function killRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  port = await findFreePort();
  redisServer = await startRedis();
  stack = await startChatStack({ overrides: { REDIS_URI: `redis://127.0.0.1:${port}` } });
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
  await killRedis(redisServer);
});

test('Redis restarted mid-run: the run completes and clients see the whole reply once', async () => {
  const http = createHttpClient(stack.app.baseUrl);
  const user = await registerAndLogin(http, 'redis');
  let restarted: Promise<void> | undefined;
  const live = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
    method: 'POST',
    token: user.token,
    body: { endpoint: 'demo', model: 'demo-fast', text: 'survive a redis restart [tokens=100 rate=20]', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
    timeoutMs: 60_000,
    disconnectWhen: (_event, events) => {
      if (!restarted && deltaText(events).split(' ').length >= 10) {
        restarted = (async () => {
          await killRedis(redisServer);
          redisServer = await startRedis();
        })();
      }
      return false;
    },
  });
  await restarted;
  assert.ok(restarted, 'Redis was restarted mid-run');
  const created = live.events[0]!.data;
  let events: SseEvent[] = live.events;
  // A follower that was ended (rather than carried on) resumes where it stopped; the stream is rebuilt
  // by the worker with the same ids, so its Last-Event-ID is still a position in it.
  const deadline = Date.now() + 45_000;
  while (!finalEvent(events) && Date.now() < deadline) {
    const resumed = await requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${created.streamId}`, { token: user.token, lastEventId: events.at(-1)!.id, timeoutMs: 30_000 });
    if (resumed.status === 200) events = [...events, ...resumed.events];
    else await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const final = finalEvent(events);
  assert.ok(final, 'the client got the final event');
  const ids = events.map((event) => Number(event.id!.slice(2)));
  // Every event once, in order (usage events are not sent to clients, so an id may be skipped); no gap
  // in the text: it is the whole hundred words, and exactly what was saved.
  for (let index = 1; index < ids.length; index += 1) assert.ok(ids[index]! > ids[index - 1]!, `ids increase: ${ids[index - 1]} then ${ids[index]}`);
  const text = deltaText(events);
  assert.equal(text.split(' ').length, 100);
  assert.equal(final.data.responseMessage.text, text);
  const saved = (await http.get(`/api/messages/${created.conversationId}`, { token: user.token })).body as Array<{ messageId: string; text: string }>;
  assert.equal(saved.find((message) => message.messageId === created.responseMessageId)?.text, text);
});
