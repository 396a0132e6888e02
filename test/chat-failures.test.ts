import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { maxActivityAttempt } from './helpers/temporal-history.ts';
import { cleanUpTestData, startTestApp } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;
let user: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
  user = await registerAndLogin(http, 'failures');
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

function chat(baseUrl: string, token: string, text: string, extra: Record<string, unknown> = {}) {
  return requestSse(`${baseUrl}/api/agents/chat/custom`, { method: 'POST', token, body: { endpoint: 'demo', model: 'demo-fast', text, conversationId: null, ...extra } });
}

describe('provider failures', () => {
  test('429 twice, then success: retried with backoff by Temporal, one clean reply', async () => {
    const key = randomUUID();
    const result = await chat(stack.app.baseUrl, user.token, `busy provider [tokens=25] [fail=429 times=2 key=${key}]`);
    const final = finalEvent(result.events)!.data;
    assert.equal(result.events.filter((event) => event.event === 'error').length, 0);
    assert.equal(final.responseMessage.text, deltaText(result.events));
    assert.equal(final.responseMessage.text.split(' ').length, 25);
    assert.equal(stack.provider.requestCount(key), 3);
    assert.equal(await maxActivityAttempt(`chat-${final.responseMessage.messageId}`), 3, 'the retries are in the workflow history');
  });

  test('401 is not retried: the user gets an error event and an error message is saved', async () => {
    const key = randomUUID();
    const result = await chat(stack.app.baseUrl, user.token, `bad key [fail=401 times=99 key=${key}]`);
    assert.equal(result.completed, true);
    const error = result.events.at(-1)!;
    assert.equal(error.event, 'error');
    assert.equal(error.data.error, true);
    assert.equal(error.data.final, true);
    assert.match(error.data.text, /refused the request \(401\)/);
    assert.equal(stack.provider.requestCount(key), 1);
    const conversationId = result.events[0]!.data.conversationId;
    const messages = (await http.get(`/api/messages/${conversationId}`, { token: user.token })).body;
    assert.equal(messages.length, 2);
    assert.equal(messages[1].error, true);
    assert.match(messages[1].text, /401/);
  });

  test('a connection dropped mid-stream is retried and continues where it stopped: no repeated or missing text', async () => {
    const key = randomUUID();
    const result = await chat(stack.app.baseUrl, user.token, `flaky network [tokens=50] [drop=20 times=1 key=${key}]`);
    const final = finalEvent(result.events)!.data;
    const streamed = deltaText(result.events);
    assert.equal(final.responseMessage.text, streamed);
    assert.equal(streamed.split(' ').length, 50);
    assert.equal(stack.provider.requestCount(key), 2);
    // The same prompt without failures gives the reference text: the retry neither repeated nor skipped.
    const reference = finalEvent((await chat(stack.app.baseUrl, user.token, `flaky network [tokens=50] [drop=20 times=1 key=${key}]`)).events)!.data;
    assert.equal(reference.responseMessage.text, streamed);
  });
});

describe('limits and outages', () => {
  test('a user over CONCURRENT_MESSAGE_MAX is refused LibreChat\'s way; the slot frees when the run ends', async () => {
    const limited = await startTestApp({ ...stack.environment, CONCURRENT_MESSAGE_MAX: '1' });
    try {
      const client = createHttpClient(limited.baseUrl);
      const busy = await registerAndLogin(client, 'busy');
      const first = await requestSse(`${limited.baseUrl}/api/agents/chat/custom`, {
        method: 'POST',
        token: busy.token,
        body: { endpoint: 'demo', model: 'demo-fast', text: 'long one [tokens=400 rate=40]' },
        disconnectWhen: (event) => event.data?.event === 'on_message_delta',
      });
      const second = await chat(limited.baseUrl, busy.token, 'second [tokens=3]');
      assert.equal(second.status, 200);
      assert.equal(second.events.length, 2);
      assert.equal(second.events[0]!.data.created, true);
      assert.equal(second.events[1]!.event, 'error');
      assert.match(second.events[1]!.data.text, /at most 1 replies at once/);
      assert.equal((await client.get('/api/agents/chat/active', { token: busy.token })).body.active.length, 1);

      const aborted = await client.post('/api/agents/chat/abort', { token: busy.token, body: { streamId: first.events[0]!.data.streamId } });
      assert.equal(aborted.body.final, true);
      const third = await chat(limited.baseUrl, busy.token, 'third [tokens=3]');
      assert.ok(finalEvent(third.events), 'accepted once the first run ended');
    } finally {
      await limited.close();
    }
  });

  test('Temporal unreachable: 503 with a clear message, and nothing saved or left running', async () => {
    const orphan = await startTestApp({ ...stack.environment, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    try {
      const client = createHttpClient(orphan.baseUrl);
      const stranded = await registerAndLogin(client, 'stranded');
      const response = await chat(orphan.baseUrl, stranded.token, 'anyone there?');
      assert.equal(response.status, 503);
      assert.match(response.body.message, /unavailable.*not saved/);
      assert.ok(response.body.requestId);
      assert.equal((await client.get('/api/convos', { token: stranded.token })).body.conversations.length, 0);
      assert.equal((await client.get('/api/agents/chat/active', { token: stranded.token })).body.active.length, 0);
    } finally {
      await orphan.close();
    }
  });
});
