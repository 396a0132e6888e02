/**
 * Graceful shutdown under real signals (issue 6): the worker and the API run as the real entry points
 * (workers/worker.ts, api/server.ts) in child processes and get SIGTERM mid-run. Nothing the client was
 * promised may be lost: every token arrives exactly once, every accepted chat request has a run, and no
 * run slot is left reserved for a run that does not exist.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, onTestFinished, test } from 'vitest';
import { findFreePort, stopChild, waitForPort } from '../infra/local-services.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys, type RedisKeys } from '../shared/redis-keys.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { spawnEntryPoint, startChatStack, startInProcessWorker, type ChatStack, type InProcessWorker } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse, type SseEvent, type SseResult } from './helpers/sse-client.ts';
import { cleanUpTestData, testEnvironment } from './helpers/test-app.ts';

let stack: ChatStack;
let token: string;
let redis: Redis;
let keys: RedisKeys;

beforeAll(async () => {
  stack = await startChatStack({ worker: false });
  token = (await registerAndLogin(createHttpClient(stack.app.baseUrl), 'shutdown')).token;
  redis = createRedisClient(stack.app.config.REDIS_URI, 'test-shutdown');
  keys = createRedisKeys(stack.app.config.REDIS_KEY_PREFIX);
});
afterAll(async () => {
  await redis?.quit();
  await stack?.close();
  if (stack) await cleanUpTestData(stack.app.config);
});

/** Rejects when `promise` has not settled within `ms`: no wait in this file is unbounded. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function until(condition: () => Promise<boolean>, ms: number, what: string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

interface SpawnedProcess {
  child: ChildProcess;
  exited: Promise<Exit>;
}

function spawnProcess(entry: string, environment: Record<string, string>): SpawnedProcess {
  const child = spawnEntryPoint(entry, environment);
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return { child, exited };
}

/** A worker process; ready once it says which queues it serves (it polls right after). */
function spawnWorker(graceMs: number): SpawnedProcess & { ready: Promise<void>; identity: string } {
  const spawned = spawnProcess('workers/worker.ts', { ...stack.environment, WORKER_SHUTDOWN_GRACE_MS: String(graceMs) });
  const ready = new Promise<void>((resolve, reject) => {
    let output = '';
    spawned.child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker serving')) resolve();
    });
    void spawned.exited.then(({ code, signal }) => reject(new Error(`worker exited (${code ?? signal}) before it was ready`)));
  });
  ready.catch(() => undefined);
  // The Temporal SDK's default worker identity.
  return { ...spawned, ready: within(ready, 45_000, 'worker ready'), identity: `${spawned.child.pid}@${os.hostname()}` };
}

async function spawnApi(): Promise<SpawnedProcess & { port: number; baseUrl: string }> {
  const port = await findFreePort();
  const spawned = spawnProcess('api/server.ts', { ...stack.environment, PORT: String(port) });
  await waitForPort(port, 'api', spawned.child, 45_000);
  return { ...spawned, port, baseUrl: `http://127.0.0.1:${port}` };
}

async function stop(spawned: SpawnedProcess | undefined): Promise<void> {
  if (spawned) await stopChild(spawned.child, 20_000);
}

const countDeltas = (events: SseEvent[]) => events.filter((event) => event.data?.event === 'on_message_delta').length;
const seqOf = (event: SseEvent) => Number(event.id!.slice(2));

/**
 * Follows a reply to its final event the way the web client does: when the connection ends before the
 * final event, it reconnects with the Last-Event-ID it has.
 */
async function followToFinal(baseUrl: () => string, first: SseResult, streamId: string, deadlineMs = 60_000): Promise<{ events: SseEvent[]; connections: number }> {
  const deadline = Date.now() + deadlineMs;
  const events = [...first.events];
  let connections = 1;
  while (!finalEvent(events)) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`no final event for ${streamId} within ${deadlineMs} ms`);
    const next = await requestSse(`${baseUrl()}/api/agents/chat/stream/${streamId}`, { token, lastEventId: events.at(-1)?.id, timeoutMs: remaining });
    assert.equal(next.status, 200, `resuming ${streamId}: ${JSON.stringify(next.body)}`);
    events.push(...next.events);
    connections += 1;
  }
  return { events, connections };
}

/** One seamless reply: ids only go up (no repeat), and the deltas add up to the saved text (no gap). */
async function assertSeamlessReply(baseUrl: string, events: SseEvent[], expectedWords: number) {
  const seqs = events.filter((event) => event.id).map(seqOf);
  for (let index = 1; index < seqs.length; index += 1) assert.ok(seqs[index]! > seqs[index - 1]!, `event ${seqs[index]} after ${seqs[index - 1]}: a repeat`);
  const final = finalEvent(events)!.data;
  const text = deltaText(events);
  assert.equal(text, final.responseMessage.text, 'what the client received is the reply');
  assert.equal(text.split(' ').length, expectedWords);
  assert.equal(final.responseMessage.unfinished, false);
  const messages = (await createHttpClient(baseUrl).get(`/api/messages/${final.conversation.conversationId}`, { token })).body;
  assert.equal(messages.at(-1).text, text, 'the saved reply is what the client received');
  return final;
}

/** How the reply activity's (streamTurn) last attempt went, from the workflow history (what the Temporal UI shows). */
async function streamReplyAttempt(workflowId: string): Promise<{ attempt: number; identity: string; completed: boolean }> {
  const { client, connection } = createTemporalClient(testEnvironment().TEMPORAL_ADDRESS!, 'default');
  try {
    const handle = client.workflow.getHandle(workflowId);
    // The activity's started event is written when it ends, after the client's final event (sent from inside it).
    await handle.result().catch(() => undefined);
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'streamTurn');
    assert.ok(scheduled, 'streamTurn was scheduled');
    const scheduledId = String(scheduled.eventId);
    const started = events.find((event) => String(event.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === scheduledId);
    const completed = events.some((event) => String(event.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') === scheduledId);
    return { attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 0, identity: started?.activityTaskStartedEventAttributes?.identity ?? '', completed };
  } finally {
    await connection.close();
  }
}

describe('worker SIGTERM', () => {
  test('mid-run with a short grace: the stopping worker hands the reply over and exits 0; the client sees every token once', async () => {
    const graceMs = 1000;
    const stopping = spawnWorker(graceMs);
    let survivor: ReturnType<typeof spawnWorker> | undefined;
    try {
      await stopping.ready;
      let signalledAt = 0;
      const first = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
        method: 'POST',
        token,
        body: { endpoint: 'demo', model: 'demo-fast', text: 'hand over on SIGTERM [tokens=100 rate=20]', conversationId: null },
        timeoutMs: 60_000,
        disconnectWhen: (_event, events) => {
          if (!signalledAt && countDeltas(events) === 5) {
            // The only worker runs the reply; another comes up as it is told to stop.
            survivor = spawnWorker(graceMs);
            signalledAt = Date.now();
            stopping.child.kill('SIGTERM');
          }
          return false;
        },
      });
      assert.ok(signalledAt > 0, 'the worker got SIGTERM mid-run');
      const { streamId } = first.events[0]!.data;
      const { events } = await followToFinal(() => stack.app.baseUrl, first, streamId);

      const exit = await within(stopping.exited, graceMs + 10_000, 'the stopping worker exits');
      assert.deepEqual([exit.code, exit.signal], [0, null], 'the stopping worker exits on its own, cleanly');
      assert.ok(exit.at - signalledAt < graceMs + 8000, `it exits within the grace and a few seconds (${exit.at - signalledAt} ms)`);
      const final = await assertSeamlessReply(stack.app.baseUrl, events, 100);
      const attempt = await streamReplyAttempt(`chat-${final.responseMessage.messageId}`);
      assert.ok(attempt.attempt >= 2, `streamTurn was retried (attempt ${attempt.attempt})`);
      assert.equal(attempt.identity, survivor!.identity, 'the retry ran on the other worker');
      assert.equal(attempt.completed, true);
    } finally {
      await stop(stopping);
      await stop(survivor);
    }
  });

  test('with a long grace: the reply under way finishes on the stopping worker (no retry), then it exits 0', async () => {
    const stopping = spawnWorker(15_000);
    let survivor: ReturnType<typeof spawnWorker> | undefined;
    try {
      await stopping.ready;
      let signalledAt = 0;
      const first = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
        method: 'POST',
        token,
        body: { endpoint: 'demo', model: 'demo-fast', text: 'finish within grace [tokens=40 rate=20]', conversationId: null },
        timeoutMs: 60_000,
        disconnectWhen: (_event, events) => {
          if (!signalledAt && countDeltas(events) === 3) {
            // Another worker for what comes after the reply (saving it, the title): the stopping one polls no more.
            survivor = spawnWorker(15_000);
            signalledAt = Date.now();
            stopping.child.kill('SIGTERM');
          }
          return false;
        },
      });
      assert.ok(signalledAt > 0, 'the worker got SIGTERM mid-run');
      const exit = await within(stopping.exited, 15_000, 'the stopping worker exits');
      const stoppedAfter = exit.at - signalledAt;
      assert.deepEqual([exit.code, exit.signal], [0, null], 'the stopping worker exits on its own, cleanly');
      assert.ok(stoppedAfter < 15_000, `it exits once its reply is done, not at the end of the grace (${stoppedAfter} ms)`);

      const { events, connections } = await followToFinal(() => stack.app.baseUrl, first, first.events[0]!.data.streamId);
      assert.equal(connections, 1, 'the client was never cut off');
      const final = await assertSeamlessReply(stack.app.baseUrl, events, 40);
      const attempt = await streamReplyAttempt(`chat-${final.responseMessage.messageId}`);
      assert.equal(attempt.attempt, 1, 'no retry');
      assert.equal(attempt.identity, stopping.identity, 'the reply finished on the stopping worker');
      assert.equal(attempt.completed, true);
    } finally {
      await stop(stopping);
      await stop(survivor);
    }
  });
});

describe('API SIGTERM', () => {
  let worker: InProcessWorker;
  beforeAll(async () => {
    worker = await startInProcessWorker(stack.environment);
  });
  afterAll(async () => {
    await worker?.stop();
  });

  test('mid-run: the SSE connection ends cleanly, the API exits 0 at once, and another API serves the rest', async () => {
    const [stopping, next] = await Promise.all([spawnApi(), spawnApi()]);
    try {
      let signalledAt = 0;
      const before = await requestSse(`${stopping.baseUrl}/api/agents/chat/custom`, {
        method: 'POST',
        token,
        body: { endpoint: 'demo', model: 'demo-fast', text: 'move to another API [tokens=80 rate=20]', conversationId: null },
        timeoutMs: 30_000,
        disconnectWhen: (_event, events) => {
          if (!signalledAt && countDeltas(events) === 8) {
            signalledAt = Date.now();
            stopping.child.kill('SIGTERM');
          }
          return false;
        },
      });
      assert.ok(signalledAt > 0, 'the API got SIGTERM mid-run');
      assert.equal(before.completed, true, 'the server ended the stream (no error)');
      assert.equal(finalEvent(before.events), undefined, 'before the reply was done');
      const exit = await within(stopping.exited, 10_000, 'the API exits');
      const stoppedAfter = exit.at - signalledAt;
      assert.deepEqual([exit.code, exit.signal], [0, null]);
      assert.ok(stoppedAfter < 10_000, `the API exits promptly (${stoppedAfter} ms; its 20 s deadline would exit 1)`);

      const { streamId } = before.events[0]!.data;
      const rest = await requestSse(`${next.baseUrl}/api/agents/chat/stream/${streamId}`, { token, lastEventId: before.events.at(-1)!.id, timeoutMs: 30_000 });
      assert.equal(rest.completed, true);
      assert.ok(finalEvent(rest.events), 'the other API serves the rest of the reply');
      assert.ok(seqOf(rest.events[0]!) > seqOf(before.events.at(-1)!), 'resumed after the last event the client had');
      await assertSeamlessReply(next.baseUrl, [...before.events, ...rest.events], 80);
    } finally {
      await stop(stopping);
      await stop(next);
    }
  });

  /** The events of a whole SSE body (`id:`, `event:`, `data:` lines). */
  function parseSse(body: string): SseEvent[] {
    return body
      .split('\n\n')
      .map((block) => {
        const event: SseEvent = { event: 'message', data: undefined };
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(':');
          const value = rest.join(':').replace(/^ /, '');
          if (field === 'id') event.id = value;
          else if (field === 'event') event.event = value;
          else if (field === 'data') event.data = JSON.parse(value);
        }
        return event;
      })
      .filter((event) => event.data !== undefined);
  }

  type PostOutcome =
    | { kind: 'answered'; status: number; streamId?: string; body: string; complete: boolean }
    | { kind: 'no-answer'; code?: string; message: string };

  /**
   * One chat POST on a new keep-alive connection, as a browser sends it (the client keeps the socket
   * open after the answer; no reuse of another request's socket), reporting how it ended.
   */
  function postChat(agent: http.Agent, port: number, userToken: string, body: Record<string, unknown>): Promise<PostOutcome> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (outcome: PostOutcome) => {
        if (!settled) {
          settled = true;
          resolve(outcome);
        }
      };
      const payload = JSON.stringify(body);
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/agents/chat/custom',
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${userToken}`, accept: 'text/event-stream', 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          const answered = (complete: boolean) => settle({ kind: 'answered', status: response.statusCode!, streamId: response.headers['x-stream-id'] as string | undefined, body: text, complete });
          response.on('end', () => answered(true));
          response.on('error', () => answered(false));
          response.on('close', () => answered(response.complete));
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => settle({ kind: 'no-answer', code: error.code, message: error.message }));
      request.setTimeout(20_000, () => request.destroy(new Error('no answer within 20 s')));
      request.end(payload);
    });
  }

  test('while chat POSTs are starting runs: each gets a run or a clear error, and no run slot leaks', async () => {
    const [stopping, next] = await Promise.all([spawnApi(), spawnApi()]);
    const user = await registerAndLogin(createHttpClient(stack.app.baseUrl), 'shutdown-race');
    const userId: string = user.user.id;
    const slots = keys.userActiveRuns(userId);
    try {
      const messageIds = Array.from({ length: 6 }, () => randomUUID());
      const agents = messageIds.map(() => new http.Agent({ keepAlive: true }));
      onTestFinished(() => agents.forEach((agent) => agent.destroy()));
      const posts: Array<Promise<PostOutcome>> = [];
      for (const [index, messageId] of messageIds.entries()) {
        posts.push(postChat(agents[index]!, stopping.port, user.token, { endpoint: 'demo', model: 'demo-fast', text: `race ${index} [tokens=20 rate=20]`, conversationId: null, messageId }));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // SIGTERM as soon as a start has reserved its slot, i.e. while that start is under way.
      await until(async () => (await redis.zcard(slots)) > 0, 10_000, 'a run slot reserved', 1);
      const signalledAt = Date.now();
      stopping.child.kill('SIGTERM');
      // Late ones, sent while the API is stopping: they get a clear refusal (or, if still in time, a run).
      await new Promise((resolve) => setTimeout(resolve, 30));
      for (let index = 0; index < 2; index += 1) {
        const messageId = randomUUID();
        messageIds.push(messageId);
        agents.push(new http.Agent({ keepAlive: true }));
        posts.push(postChat(agents.at(-1)!, stopping.port, user.token, { endpoint: 'demo', model: 'demo-fast', text: `late ${index} [tokens=20 rate=20]`, conversationId: null, messageId }));
      }
      const outcomes = await within(Promise.all(posts), 25_000, 'every POST ends');
      const exit = await within(stopping.exited, 10_000, 'the API exits (keep-alive sockets do not hold it)');
      assert.deepEqual([exit.code, exit.signal], [0, null]);
      assert.ok(exit.at - signalledAt < 10_000, `the API exits promptly (${exit.at - signalledAt} ms)`);

      const started: Array<{ streamId: string; events: SseEvent[] }> = [];
      for (const [index, outcome] of outcomes.entries()) {
        const messageId = messageIds[index]!;
        const startedFor = await redis.get(keys.chatIdempotency(userId, messageId));
        if (outcome.kind === 'answered' && outcome.status === 200) {
          // The stream ends early (the server is stopping) but names its run, in the web client's terms.
          const events = parseSse(outcome.body);
          const created = events[0]?.data;
          assert.ok(outcome.complete && created?.created, `POST ${index}: the stream names its run: ${outcome.body}`);
          assert.equal(created.streamId, outcome.streamId);
          assert.equal(finalEvent(events), undefined);
          assert.equal(startedFor, created.streamId, `POST ${index}: the run it names is the one its request started`);
          started.push({ streamId: created.streamId, events });
        } else if (outcome.kind === 'answered') {
          assert.ok(outcome.status >= 400 && outcome.complete, `POST ${index}: answered ${outcome.status}`);
          assert.ok(JSON.parse(outcome.body).message, `POST ${index}: the error says what happened: ${outcome.body}`);
          assert.equal(startedFor, null, `POST ${index}: refused (${outcome.status}), so nothing was started`);
        } else {
          // No answer at all is only acceptable if the request never reached the application.
          assert.equal(startedFor, null, `POST ${index}: its run was started but the client got no answer (${outcome.code} ${outcome.message})`);
        }
      }
      assert.ok(started.length > 0, `at least the start under way at SIGTERM got its run: ${JSON.stringify(outcomes)}`);
      const startedIds = new Set(started.map((run) => run.streamId));

      // Slots hold only runs that exist; the fresh API lists the same.
      for (const streamId of await redis.zrange(slots, '0', '-1')) {
        assert.ok(startedIds.has(streamId), `slot ${streamId} belongs to a run a client was told about`);
        assert.ok(await redis.exists(keys.runInfo(streamId)), `slot ${streamId} has its run`);
      }
      const active = (await createHttpClient(next.baseUrl).get('/api/agents/chat/active', { token: user.token })).body.active as Array<{ streamId: string }>;
      for (const run of active) assert.ok(startedIds.has(run.streamId), `active run ${run.streamId} is one that was started`);

      // Every started run is answered and saved; each client resumes on the other API where its POST stopped.
      for (const run of started) {
        const rest = await requestSse(`${next.baseUrl}/api/agents/chat/stream/${run.streamId}`, { token: user.token, lastEventId: run.events.at(-1)!.id, timeoutMs: 30_000 });
        const final = finalEvent(rest.events)?.data;
        assert.ok(final, `run ${run.streamId} ends with its final event`);
        assert.equal(deltaText(run.events) + deltaText(rest.events), final.responseMessage.text);
        assert.equal(final.responseMessage.text.split(' ').length, 20);
        const messages = (await createHttpClient(next.baseUrl).get(`/api/messages/${final.conversation.conversationId}`, { token: user.token })).body;
        assert.equal(messages.at(-1).text, final.responseMessage.text, `run ${run.streamId}: reply saved`);
      }
      await until(async () => (await redis.zcard(slots)) === 0, 15_000, 'every slot released');
      const after = (await createHttpClient(next.baseUrl).get('/api/agents/chat/active', { token: user.token })).body.active;
      assert.deepEqual(after, []);
    } finally {
      await stop(stopping);
      await stop(next);
    }
  });
});
