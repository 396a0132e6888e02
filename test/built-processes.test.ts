/**
 * The processes as `npm start` runs them: the API and the worker from the build (infra/build-entry-points.ts,
 * no tsx) and, as its fallback when the build fails, from the sources through tsx. Each serves a chat whose
 * long message is counted on the worker's tokenizer thread, a Piscina thread that loads the task file of the
 * mode it runs in (shared/build-paths.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { findFreePort, waitForPort } from '../infra/local-services.ts';
import { INLINE_MAX_CHARS } from '../workers/token-counter.ts';
import { createO200kCounter } from '../workers/tasks/o200k-counter.ts';
import { spawnEntryPoint, startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { outputLine, stopGently } from './helpers/child-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;

beforeAll(async () => {
  assert.ok(process.env.TEST_BUILD_DIR, 'test/setup/global-setup.ts builds the entry points');
  stack = await startChatStack({ worker: false });
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

describe.each([
  { mode: 'the build', sources: false },
  { mode: 'the sources through tsx', sources: true },
])('$mode', ({ mode, sources }) => {
  let api: ChildProcess;
  let worker: ChildProcess;
  let baseUrl: string;

  beforeAll(async () => {
    const port = await findFreePort();
    worker = spawnEntryPoint('workers/worker.ts', { ...stack.environment, WORKER_QUEUES: 'chat,background' }, { sources });
    api = spawnEntryPoint('api/server.ts', { ...stack.environment, PORT: String(port) }, { sources });
    await Promise.all([outputLine(worker, /worker serving/, 60_000), waitForPort(port, 'api', api, 60_000)]);
    baseUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await Promise.all([api && stopGently(api), worker && stopGently(worker)]);
  });

  test(`the processes run ${mode}`, () => {
    for (const child of [api, worker]) {
      const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const environment = readFileSync(`/proc/${child.pid}/environ`, 'utf8');
      const script = commandLine.at(-1)!;
      if (sources) assert.ok(script.endsWith('.ts') && commandLine.includes('tsx'), commandLine.join(' '));
      else {
        assert.ok(script.startsWith(process.env.TEST_BUILD_DIR!) && script.endsWith('.mjs'), commandLine.join(' '));
        assert.ok(!commandLine.some((argument) => argument.includes('tsx')) && !/NODE_OPTIONS=[^\0]*tsx/.test(environment), commandLine.join(' '));
      }
    }
  });

  test('a chat: the long message is counted on the tokenizer thread and the reply is saved', async () => {
    const { token } = await registerAndLogin(createHttpClient(baseUrl), 'built');
    // Longer than what the worker counts in its own thread: this one goes to the Piscina thread.
    const text = `${'count these words on the pool thread. '.repeat(Math.ceil((INLINE_MAX_CHARS + 500) / 38))}[tokens=12]`;
    assert.ok(text.length > INLINE_MAX_CHARS);
    const result = await requestSse(`${baseUrl}/api/agents/chat/custom`, { method: 'POST', token, body: { endpoint: 'demo', model: 'demo-fast', text, conversationId: null }, timeoutMs: 60_000 });
    assert.equal(result.completed, true);
    const final = finalEvent(result.events)!.data;
    assert.equal(final.responseMessage.text.split(' ').length, 12);
    const messages = (await createHttpClient(baseUrl).get(`/api/messages/${final.conversation.conversationId}`, { token })).body;
    assert.equal(messages[0].text, text);
    assert.equal(messages[0].tokenCount, createO200kCounter()(text), 'counted by the task file of this mode');
    assert.equal(messages[1].text, final.responseMessage.text);
  });
});
