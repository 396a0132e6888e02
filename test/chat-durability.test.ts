/**
 * The durability promise under real process deaths: the API and the worker run as the real entry
 * points (api/server.ts, workers/worker.ts) in child processes, and are killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, test } from 'vitest';
import { findFreePort, waitForPort } from '../infra/local-services.ts';
import { spawnEntryPoint, startChatStack, startInProcessWorker, type ChatStack } from './helpers/chat-stack.ts';
import { countDeltas, killHard, stopGently } from './helpers/child-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { maxActivityAttempt } from './helpers/temporal-history.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;
let token: string;

beforeAll(async () => {
  stack = await startChatStack({ worker: false });
  token = (await registerAndLogin(createHttpClient(stack.app.baseUrl), 'durable')).token;
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

test('the API is killed and restarted mid-run: the run goes on and the client resumes with no gap and no repeat', async () => {
  const worker = await startInProcessWorker(stack.environment);
  const port = await findFreePort();
  const apiEnvironment = { ...stack.environment, PORT: String(port) };
  let api = spawnEntryPoint('api/server.ts', apiEnvironment);
  try {
    await waitForPort(port, 'api', api, 30_000);
    const baseUrl = `http://127.0.0.1:${port}`;
    const before = await requestSse(`${baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token,
      body: { endpoint: 'demo', model: 'demo-fast', text: 'survive the API [tokens=80 rate=25]', conversationId: null },
      disconnectWhen: (_event, events) => countDeltas(events) === 10,
    });
    await killHard(api);
    const { streamId } = before.events[0]!.data;
    api = spawnEntryPoint('api/server.ts', apiEnvironment);
    await waitForPort(port, 'api', api, 30_000);
    const rest = await requestSse(`${baseUrl}/api/agents/chat/stream/${streamId}`, { token, lastEventId: before.events.at(-1)!.id });
    assert.equal(rest.completed, true);
    const final = finalEvent(rest.events)!.data;
    assert.equal(deltaText(before.events) + deltaText(rest.events), final.responseMessage.text);
    assert.equal(final.responseMessage.text.split(' ').length, 80);
    const seen = [...before.events, ...rest.events].map((event) => event.id);
    assert.equal(new Set(seen).size, seen.length, 'no event twice');
  } finally {
    await stopGently(api);
    await worker.stop();
  }
});

test('the worker is SIGKILLed mid-run and started again: Temporal retries and the client sees one seamless reply', async () => {
  let worker = spawnEntryPoint('workers/worker.ts', stack.environment);
  let replacement: ChildProcess | undefined;
  try {
    let killed = false;
    const streamed = requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token,
      body: { endpoint: 'demo', model: 'demo-fast', text: 'survive the worker [tokens=100 rate=25]', conversationId: null },
      timeoutMs: 90_000,
      disconnectWhen: (_event, events) => {
        if (!killed && countDeltas(events) === 20) {
          killed = true;
          // Kill the worker while the client keeps listening; a new worker comes up shortly after.
          void killHard(worker).then(() => {
            replacement = spawnEntryPoint('workers/worker.ts', stack.environment);
          });
        }
        return false;
      },
    });
    const result = await streamed;
    assert.equal(killed, true, 'the worker was killed mid-run');
    assert.equal(result.completed, true);
    const final = finalEvent(result.events)!.data;
    const text = deltaText(result.events);
    assert.equal(final.responseMessage.text, text, 'saved text equals what the client received');
    assert.equal(text.split(' ').length, 100);
    assert.equal(final.responseMessage.unfinished, false);
    assert.ok((await maxActivityAttempt(`chat-${final.responseMessage.messageId}`)) >= 2, 'the streaming activity was retried');
    const messages = (await createHttpClient(stack.app.baseUrl).get(`/api/messages/${final.conversation.conversationId}`, { token })).body;
    assert.equal(messages[1].text, text);
  } finally {
    await stopGently(worker);
    if (replacement) await stopGently(replacement);
  }
});
