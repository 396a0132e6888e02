/**
 * Every way a run and its followers can end: clients that leave early, followers at or past the end, a
 * thousand idle followers on a few Redis connections, runs terminated in the Temporal UI, repeated
 * POSTs, replies longer than the stream cap, providers that stall, and continuations that fail.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { durachatConversation, durachatEndpoint, durachatModel, durachatRunKind, durachatUser } from '../shared/search-attributes.ts';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData, testRunId } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let redis: Redis;

// The demo endpoint with a 1.5 s idle timeout, so a stalled provider is noticed quickly.
const configPath = path.join(process.env.DATA_DIR ?? '.data/test', `lifecycle-${testRunId}.yaml`);

beforeAll(async () => {
  writeFileSync(
    configPath,
    ['endpoints:', '  custom:', '    - name: demo', '      apiKey: demo', '      baseURL: ${DEMO_PROVIDER_URL}', '      models:', '        default: [demo-fast, demo-slow]', '      titleConvo: false', '      streamIdleTimeoutMs: 1500', '      modelDisplayLabel: Demo', ''].join('\n'),
  );
  stack = await startChatStack({ overrides: { CONFIG_PATH: configPath, SSE_MAX_STREAMS_PER_USER: '1200', CHAT_STREAM_MAXLEN: '20', CHAT_STREAM_FLUSH_MS: '0' } });
  http = createHttpClient(stack.app.baseUrl);
  alice = await registerAndLogin(http, 'lifecycle');
  redis = new Redis(stack.app.config.REDIS_URI);
});
afterAll(async () => {
  await redis.quit();
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

function chat(body: Record<string, unknown>, options: Parameters<typeof requestSse>[1] extends infer O ? Partial<O> : never = {}) {
  return requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, { method: 'POST', token: alice.token, body: { endpoint: 'demo', model: 'demo-fast', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, ...body }, ...options });
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function savedReply(conversationId: string, messageId: string, token = alice.token) {
  return until(`the saved reply ${messageId}`, async () => {
    const messages = (await http.get(`/api/messages/${conversationId}`, { token })).body as Array<Record<string, any>>;
    return messages.find((message) => message.messageId === messageId);
  });
}

const readerName = () => `durachat-sse-reader-${stack.app.config.REDIS_KEY_PREFIX.replace(/[^A-Za-z0-9_-]/g, '')}`;
async function readerConnections(): Promise<number> {
  const list = await redis.client('LIST');
  return String(list).split('\n').filter((line) => line.includes(`name=${readerName()} `)).length;
}

describe('followers', () => {
  test('a client gone before its reply started streaming holds nothing, and the run still finishes', async () => {
    const carol = await registerAndLogin(http, 'gone');
    const body = JSON.stringify({ endpoint: 'demo', model: 'demo-fast', text: 'gone early [tokens=20 rate=20]', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID });
    const { port } = new URL(stack.app.baseUrl);
    // The whole request is written, then the socket is closed at once: the API reads a complete request
    // from a client that is already gone while it starts the run.
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.end(
          `POST /api/agents/chat/custom HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${carol.token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          () => {
            socket.destroy();
            resolve();
          },
        );
      });
      socket.on('error', reject);
    });
    await until('the run to start and finish', async () => {
      const conversations = (await http.get('/api/convos', { token: carol.token })).body.conversations as Array<{ conversationId: string }>;
      if (conversations.length === 0) return false;
      const messages = (await http.get(`/api/messages/${conversations[0]!.conversationId}`, { token: carol.token })).body as Array<{ isCreatedByUser: boolean; finish_reason?: string }>;
      return messages.some((message) => !message.isCreatedByUser && message.finish_reason === 'stop');
    });
    await until('no follower left', async () => stack.app.server.streamHub.stats().followers === 0);
  });

  test('1,000 idle followers share a fixed number of Redis connections, and all end with the run', async () => {
    // A run far longer than the test: it ends by the abort below, never on its own.
    const started = await chat({ text: 'many followers [tokens=1500 rate=10]' }, { disconnectWhen: (event) => event.data?.created === true });
    const streamId = started.events[0]!.data.streamId as string;
    // Only this file's connections (named after its run id): the other files' stacks share the Redis server.
    const ownConnections = async () => String(await redis.client('LIST')).split('\n').filter((line) => line.includes(testRunId)).length;
    const before = await ownConnections();
    assert.ok(before > 0, 'this file\'s connections carry its run id');
    const followers = Array.from({ length: 1000 }, () => requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: alice.token, timeoutMs: 100_000 }));
    // Opening 1,000 streams at once from this same process (API, worker and clients share it) takes tens of
    // seconds when the whole suite runs beside it: the bounds leave room for that and for the abort.
    await until('1,000 followers', async () => stack.app.server.streamHub.stats().followers >= 1000, 60_000);
    assert.ok((await readerConnections()) <= stack.app.config.SSE_READER_CONNECTIONS, 'readers stay within SSE_READER_CONNECTIONS');
    const during = await ownConnections();
    assert.ok(during - before < 10, `Redis connections grew by ${during - before} for 1,000 followers`);
    // The run ends (stopped by its user): every follower gets the final event and is ended.
    assert.equal((await http.post('/api/agents/chat/abort', { token: alice.token, body: { streamId } })).status, 200);
    const results = await Promise.all(followers);
    const text = deltaText(results[0]!.events);
    assert.equal(results.filter((result) => result.completed).length, results.length, `ended: ${results.filter((result) => result.completed).length}; a stuck one's last event: ${JSON.stringify(results.find((result) => !result.completed)?.events.at(-1))?.slice(0, 300)}`);
    for (const result of results) {
      assert.equal(result.completed, true);
      assert.ok(finalEvent(result.events));
      assert.equal(deltaText(result.events), text);
    }
    assert.equal(stack.app.server.streamHub.stats().followers, 0);
  }, 120_000);

  test('a Last-Event-ID at the end of an ended run ends at once; past it too', async () => {
    const result = await chat({ text: 'short [tokens=5]' });
    const last = result.events.at(-1)!;
    assert.ok(finalEvent(result.events));
    const streamId = result.events[0]!.data.streamId as string;
    for (const lastEventId of [last.id!, `0-${Number(last.id!.slice(2)) + 50}`]) {
      const startedAt = Date.now();
      const resumed = await requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: alice.token, lastEventId, timeoutMs: 5000 });
      assert.equal(resumed.status, 200);
      assert.equal(resumed.completed, true);
      assert.deepEqual(resumed.events, []);
      assert.ok(Date.now() - startedAt < 2000, 'no keep-alive wait');
    }
  });

  test('more open streams than SSE_MAX_STREAMS_PER_USER answer 429', async () => {
    const bob = await registerAndLogin(http, 'streams');
    const limited = await startChatStack({ worker: false, overrides: { ...stack.environment, CONFIG_PATH: configPath, SSE_MAX_STREAMS_PER_USER: '2' } });
    try {
      const result = await requestSse(`${limited.app.baseUrl}/api/agents/chat/custom`, {
        method: 'POST',
        token: bob.token,
        body: { endpoint: 'demo', model: 'demo-fast', text: 'hold open [tokens=30 rate=10]', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
        disconnectWhen: (event) => event.data?.created === true,
      });
      const streamId = result.events[0]!.data.streamId as string;
      const open = [0, 1].map(() => requestSse(`${limited.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: bob.token, timeoutMs: 30_000 }));
      await until('two open streams', async () => limited.app.server.streamHub.stats().followers >= 2);
      const third = await requestSse(`${limited.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: bob.token });
      assert.equal(third.status, 429);
      assert.match(third.body.message, /Too many open streams/);
      await Promise.all(open);
    } finally {
      await limited.close();
    }
  });
});

describe('runs that end in unusual ways', () => {
  test('a run terminated in the Temporal UI ends for the user within seconds, with what was streamed saved', async () => {
    let streamed = '';
    const dave = await registerAndLogin(http, 'terminated');
    const controller = requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token: dave.token,
      body: { endpoint: 'demo', model: 'demo-fast', text: 'terminate me [tokens=200 rate=10]', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
      timeoutMs: 30_000,
      disconnectWhen: (event, events) => {
        if (events.length === 5 && event.data?.event === 'on_message_delta') {
          const created = events[0]!.data;
          const temporal = createTemporalClient(stack.app.config.TEMPORAL_ADDRESS, stack.app.config.TEMPORAL_NAMESPACE);
          void temporal.client.workflow
            .getHandle(`chat-${created.responseMessageId}`)
            .terminate('operator test')
            .finally(() => temporal.connection.close());
        }
        return false;
      },
    });
    const terminatedAt = Date.now();
    const result = await controller;
    assert.equal(result.completed, true, 'the follower was ended');
    const end = result.events.at(-1)!;
    assert.equal(end.event, 'error');
    assert.match(end.data.text, /stopped by an operator/);
    assert.ok(Date.now() - terminatedAt < 15_000);
    streamed = deltaText(result.events);
    assert.ok(streamed.length > 0 && streamed.split(' ').length < 200);
    const created = result.events[0]!.data;
    const reply = await savedReply(created.conversationId, created.responseMessageId, dave.token);
    assert.equal(reply.text, streamed);
    assert.equal(reply.unfinished, true);
    const status = (await http.get(`/api/agents/chat/status/${created.conversationId}`, { token: dave.token })).body;
    assert.equal(status.active, false);
    assert.equal((await http.get('/api/agents/chat/active', { token: dave.token })).body.active.length, 0, 'the slot is free');
  });

  test('the same POST twice (same client messageId) attaches to one run: one turn, one reply', async () => {
    const messageId = randomUUID();
    const body = { text: 'idempotent [tokens=15 rate=30]', messageId };
    const [first, second] = await Promise.all([chat(body), chat(body)]);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(first.events[0]!.data.streamId, second.events[0]!.data.streamId);
    assert.equal(deltaText(first.events), deltaText(second.events));
    const conversationId = first.events[0]!.data.conversationId as string;
    const third = await chat(body);
    assert.equal(third.events[0]!.data.streamId, first.events[0]!.data.streamId, 'a later repeat attaches too');
    const messages = (await http.get(`/api/messages/${conversationId}`, { token: alice.token })).body as unknown[];
    assert.equal(messages.length, 2);
  });

  test('a reply longer than the stream cap keeps its beginning (saved and streamed alike)', async () => {
    const result = await chat({ text: 'long reply [tokens=120 rate=100]' });
    const final = finalEvent(result.events)!;
    const text = deltaText(result.events);
    assert.equal(text.split(' ').length, 120);
    assert.equal(final.data.responseMessage.text, text);
    assert.ok(result.events.length <= 24, `${result.events.length} events for a cap of 20`);
  });

  test('a provider that goes silent mid-stream is retried after the endpoint idle timeout, seamlessly', async () => {
    const key = randomUUID();
    const startedAt = Date.now();
    const result = await chat({ text: `stall [tokens=30 rate=50] [stall=10 times=1 key=${key}]` }, { timeoutMs: 30_000 });
    const final = finalEvent(result.events)!;
    assert.ok(final, 'the reply completed');
    const text = deltaText(result.events);
    assert.equal(text.split(' ').length, 30);
    assert.equal(final.data.responseMessage.text, text);
    assert.equal(stack.provider.requestCount(key), 2);
    assert.ok(Date.now() - startedAt < 15_000, 'noticed at the idle timeout, not the activity bound');
  });

  test('a continuation that fails for good keeps the good reply it continued', async () => {
    const key = randomUUID();
    const first = await chat({ text: `keep me [tokens=10] [fail=401 after=1 times=5 key=${key}]` });
    const created = first.events[0]!.data;
    const original = finalEvent(first.events)!.data.responseMessage.text as string;
    const continued = await chat({ conversationId: created.conversationId, isContinued: true, responseMessageId: created.responseMessageId, parentMessageId: created.message.messageId, text: '' });
    assert.equal(continued.events.at(-1)!.event, 'error');
    const reply = await savedReply(created.conversationId, created.responseMessageId);
    assert.equal(reply.text, original);
    assert.equal(reply.error, false);
  });

  test('operators find a run in Temporal by user, conversation, endpoint, model and kind; its memo and steps say what it is', async () => {
    const erin = await registerAndLogin(http, 'operator');
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token: erin.token,
      body: { endpoint: 'demo', model: 'demo-fast', text: 'find me [tokens=5]', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
    });
    const created = result.events[0]!.data;
    const temporal = createTemporalClient(stack.app.config.TEMPORAL_ADDRESS, stack.app.config.TEMPORAL_NAMESPACE);
    try {
      const handle = temporal.client.workflow.getHandle(`chat-${created.responseMessageId}`);
      const description = await handle.describe();
      assert.equal(description.typedSearchAttributes.get(durachatUser), erin.user.id);
      assert.equal(description.typedSearchAttributes.get(durachatConversation), created.conversationId);
      assert.equal(description.typedSearchAttributes.get(durachatEndpoint), 'demo');
      assert.equal(description.typedSearchAttributes.get(durachatModel), 'demo-fast');
      assert.equal(description.typedSearchAttributes.get(durachatRunKind), 'chat');
      assert.equal((description.memo as { title?: string }).title, 'New Chat');
      const found = await until('the run in a visibility query', async () => {
        const runs = [];
        for await (const execution of temporal.client.workflow.list({ query: `DurachatUser = "${erin.user.id}" AND DurachatRunKind = "chat"` })) runs.push(execution.workflowId);
        return runs.length > 0 ? runs : undefined;
      });
      assert.deepEqual(found, [`chat-${created.responseMessageId}`]);
      const history = await handle.fetchHistory();
      const summaries = (history.events ?? [])
        .filter((event) => event.activityTaskScheduledEventAttributes)
        .map((event) => defaultPayloadConverter.fromPayload<string>(event.userMetadata!.summary!));
      assert.ok(summaries.includes('save the request, stream the reply from demo-fast on demo, close the run'), summaries.join(' | '));
    } finally {
      await temporal.connection.close();
    }
  });
});
