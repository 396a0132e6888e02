import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { createRedisClient } from '../../shared/redis-client.ts';
import type { SequencedEvent } from '../../shared/run-events.ts';
import { appendUnfenced, seqOfId } from '../../shared/run-stream.ts';
import { requestSse, type SseResult } from '../../test/helpers/sse-client.ts';
import { createFollowerLimits, createStreamHub, type StreamHub, type StreamHubOptions } from './stream-hub.ts';

const REDIS_URI = process.env.TEST_REDIS_URI ?? 'redis://127.0.0.1:6379';
const runId = randomUUID().slice(0, 8);
const keyPrefix = `durachat-test:sse-hub-${runId}:`;
const token = 'unused';

const created = (seq = 1): SequencedEvent => ({ seq, event: { type: 'created', streamId: 's', conversationId: 'c', responseMessageId: 'r', message: { text: 'hi' } } });
const text = (seq: number, value = `t${seq}`): SequencedEvent => ({ seq, event: { type: 'text', stepId: 'step', text: value } });
const final = (seq: number): SequencedEvent => ({ seq, event: { type: 'final', conversation: { conversationId: 'c' }, title: 'T', responseMessage: { text: 'done' } } });

let redis: Redis;

async function append(stream: string, ...items: SequencedEvent[]): Promise<void> {
  for (const item of items) await appendUnfenced(redis, keyPrefix + stream, item);
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, message = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The promise's value, or a failure if it takes longer than `ms`: "at once" has a bound. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const ids = (result: SseResult) => result.events.map((event) => event.id);
const seqIds = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => `0-${from + index}`);

/** Connections in Redis named by one of this file's clients. */
async function connectionsNamed(name: string): Promise<Array<{ id: string; name: string }>> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((pair) => pair.split('=') as [string, string])))
    .filter((fields) => fields.name === `durachat-${name}`)
    .map((fields) => ({ id: fields.id!, name: fields.name! }));
}

interface Served {
  followed: Promise<void>;
  writesAfterClose: number;
}

interface HubUnderTest {
  hub: StreamHub;
  readerName: string;
  warnings: string[];
  served: Map<string, Served>;
  url(stream: string, query?: Record<string, string>): string;
  stop(): Promise<void>;
}

const started: HubUnderTest[] = [];

/** A hub served over a real HTTP server: `GET /?stream=<name>&after=<seq>` (or Last-Event-ID). */
async function startHub(name: string, options: Partial<StreamHubOptions> = {}): Promise<HubUnderTest> {
  const readerName = `sse-hub-test-${runId}-${name}-reader`;
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, warn: (_object: object, message: string) => void warnings.push(message) };
  const hub = createStreamHub({ redis, createReader: () => createRedisClient(REDIS_URI, readerName), log, ...options });
  const served = new Map<string, Served>();
  const server: Server = createServer((request, response: ServerResponse) => {
    const query = new URL(request.url!, 'http://localhost').searchParams;
    const lastEventId = request.headers['last-event-id'];
    const afterSeq = typeof lastEventId === 'string' ? (seqOfId(lastEventId) ?? 0) : Number(query.get('after') ?? 0);
    const record: Served = { followed: Promise.resolve(), writesAfterClose: 0 };
    let gone = false;
    response.once('close', () => (gone = true));
    const write = response.write.bind(response) as (chunk: string) => boolean;
    response.write = ((chunk: string) => {
      if (gone) record.writesAfterClose += 1;
      return write(chunk);
    }) as typeof response.write;
    const disconnect = query.get('disconnect');
    if (disconnect === 'before') {
      gone = true;
      response.destroy();
    } else {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      response.flushHeaders();
    }
    record.followed = hub.follow({ streamKey: keyPrefix + query.get('stream'), afterSeq, response });
    if (disconnect === 'during') {
      gone = true;
      response.destroy();
    }
    served.set(query.get('name') ?? query.get('stream')!, record);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const underTest: HubUnderTest = {
    hub,
    readerName,
    warnings,
    served,
    url: (stream, query = {}) => `http://127.0.0.1:${port}/?${new URLSearchParams({ stream, ...query })}`,
    async stop() {
      await hub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  started.push(underTest);
  return underTest;
}

beforeAll(async () => {
  redis = createRedisClient(REDIS_URI, `sse-hub-test-${runId}-command`);
  await redis.ping();
});

afterAll(async () => {
  for (const underTest of started) await underTest.stop();
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('stream hub', () => {
  test('1,000 idle followers over 200 streams share the reader connections, then all end', async () => {
    const { hub, url, readerName } = await startHub('many', { readers: 2 });
    const streams = Array.from({ length: 200 }, (_, index) => `many-${index}`);
    await Promise.all(streams.map((stream) => append(stream, created())));
    const requests = streams.flatMap((stream) => Array.from({ length: 5 }, () => requestSse(url(stream), { token, timeoutMs: 60_000 })));
    await waitFor(() => hub.stats().followers === 1_000, 30_000, '1,000 followers');
    await waitFor(() => hub.stats().readerConnections === 2, 5_000, 'both readers');
    await new Promise((resolve) => setTimeout(resolve, 300));

    assert.deepEqual(hub.stats(), { followers: 1_000, streams: 200, readerConnections: 2 });
    assert.equal((await connectionsNamed(readerName)).length, 2);
    assert.equal((await connectionsNamed(`sse-hub-test-${runId}-command`)).length, 1);

    await Promise.all(streams.map((stream) => append(stream, text(2), final(3))));
    const results = await Promise.all(requests);
    for (const result of results) {
      assert.equal(result.completed, true);
      assert.deepEqual(ids(result), ['0-1', '0-2', '0-3']);
      assert.equal(result.events[2]!.data.final, true);
    }
    await waitFor(() => hub.stats().followers === 0 && hub.stats().streams === 0, 2_000, 'followers released');
  });

  test('a Last-Event-ID at the end of an ended run, or a missing stream, ends at once', async () => {
    const { url } = await startHub('ended', { keepAliveMs: 15_000 });
    await append('ended', created(), text(2), final(3));

    let startedAt = Date.now();
    const atEnd = await requestSse(url('ended'), { token, lastEventId: '0-3', timeoutMs: 5_000 });
    assert.equal(atEnd.completed, true);
    assert.deepEqual(atEnd.events, []);
    assert.ok(Date.now() - startedAt < 1_000, `took ${Date.now() - startedAt} ms`);

    const beforeEnd = await requestSse(url('ended'), { token, lastEventId: '0-2', timeoutMs: 5_000 });
    assert.deepEqual(ids(beforeEnd), ['0-3']);

    startedAt = Date.now();
    const missing = await requestSse(url('never-written'), { token, timeoutMs: 5_000 });
    assert.equal(missing.completed, true);
    assert.deepEqual(missing.events, []);
    assert.ok(Date.now() - startedAt < 1_000);
  });

  test('an idle follower gets a keep-alive comment every keepAliveMs; one that ends at once gets none', async () => {
    const { url } = await startHub('keep-alive', { keepAliveMs: 200 });
    await append('keep-alive', created());
    const controller = new AbortController();
    const response = await fetch(url('keep-alive'), { signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let body = '';
    // Until two keep-alives have come (a loaded machine may delay a timer), within a bound far past 2 × 200 ms.
    const keepAlives = () => body.split(': keep-alive\n\n').length - 1;
    const stopAt = Date.now() + 5_000;
    while (keepAlives() < 2 && Date.now() < stopAt) body += (await reader.read()).value ?? '';
    controller.abort();
    assert.match(body, /^id: 0-1\n/);
    assert.ok(keepAlives() >= 2, body);

    await append('keep-alive', final(2));
    const ended = await fetch(url('keep-alive', { after: '2' }));
    assert.equal(await ended.text(), '');
  });

  test('catch-up and live events arrive exactly once, in order, with ids 0-<seq>', async () => {
    const { hub, url } = await startHub('live');
    const streams = Array.from({ length: 10 }, (_, index) => `live-${index}`);
    await Promise.all(streams.map((stream) => append(stream, created(), text(2), text(3))));
    // Writers run while the followers are registering and catching up: the race the buffer closes.
    const first = streams.map((stream) => requestSse(url(stream), { token, timeoutMs: 30_000 }));
    const late = streams.map((stream) => requestSse(url(stream), { token, lastEventId: '0-2', timeoutMs: 30_000 }));
    await Promise.all(
      streams.map(async (stream) => {
        for (let seq = 4; seq <= 80; seq += 1) await append(stream, text(seq));
        await append(stream, final(81));
      }),
    );
    for (const result of await Promise.all(first)) assert.deepEqual(ids(result), seqIds(1, 81));
    for (const result of await Promise.all(late)) assert.deepEqual(ids(result), seqIds(3, 81));

    // A follower joining a stream the hub already reads for others.
    await append('joined', created());
    const early = requestSse(url('joined'), { token, timeoutMs: 30_000 });
    await waitFor(() => hub.stats().streams >= 1);
    await append('joined', text(2), text(3));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const joining = requestSse(url('joined'), { token, lastEventId: '0-1', timeoutMs: 30_000 });
    for (let seq = 4; seq <= 30; seq += 1) await append('joined', text(seq));
    await append('joined', final(31));
    assert.deepEqual(ids(await early), seqIds(1, 31));
    assert.deepEqual(ids(await joining), seqIds(2, 31));
  });

  test('a client that goes away before, during or after catching up leaves nothing behind', async () => {
    const { hub, url, served } = await startHub('gone');
    await append('gone', created(), text(2));

    await requestSse(url('gone', { disconnect: 'before', name: 'before' }), { token, timeoutMs: 5_000 }).catch(() => undefined);
    await within(served.get('before')!.followed, 5_000, 'before: follow() ending');
    assert.equal(hub.stats().followers, 0);

    await requestSse(url('gone', { disconnect: 'during', name: 'during' }), { token, timeoutMs: 5_000 }).catch(() => undefined);
    await within(served.get('during')!.followed, 5_000, 'during: follow() ending');
    assert.equal(hub.stats().followers, 0);

    const live = await requestSse(url('gone', { name: 'live' }), { token, disconnectWhen: (event) => event.id === '0-2', timeoutMs: 5_000 });
    assert.equal(live.completed, false);
    await within(served.get('live')!.followed, 5_000, 'live: follow() ending');
    assert.equal(hub.stats().followers, 0);
    assert.equal(hub.stats().streams, 0);

    await append('gone', text(3), final(4));
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const name of ['before', 'during', 'live']) assert.equal(served.get(name)!.writesAfterClose, 0, name);
  });

  test('a new stream is read at once while the reader blocks on others', async () => {
    const { hub, url } = await startHub('prompt', { readers: 1, blockMs: 5_000 });
    await append('prompt-idle', created());
    const idle = requestSse(url('prompt-idle'), { token, timeoutMs: 30_000 });
    await waitFor(() => hub.stats().readerConnections === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));

    // Twenty new streams at once: their additions share one unblock; each first live event is prompt.
    const streams = Array.from({ length: 20 }, (_, index) => `prompt-${index}`);
    await Promise.all(streams.map((stream) => append(stream, created())));
    const latencies = await Promise.all(
      streams.map(async (stream) => {
        let writtenAt = 0;
        const result = await requestSse(url(stream), {
          token,
          timeoutMs: 10_000,
          disconnectWhen: (event) => {
            if (event.id === '0-1') {
              writtenAt = Date.now();
              void append(stream, text(2));
            }
            return event.id === '0-2';
          },
        });
        assert.deepEqual(ids(result), ['0-1', '0-2']);
        return Date.now() - writtenAt;
      }),
    );
    // Far below the reader's 5 s block, with room for a loaded machine.
    assert.ok(Math.max(...latencies) < 2_500, `latencies ${latencies.join(', ')} ms`);

    await append('prompt-idle', final(2));
    assert.deepEqual(ids(await idle), ['0-1', '0-2']);
  });

  test('close() ends every follower cleanly and disconnects the readers', async () => {
    const underTest = await startHub('close', { readers: 2 });
    const { hub, url, served, readerName } = underTest;
    const streams = ['close-a', 'close-b', 'close-c'];
    await Promise.all(streams.map((stream) => append(stream, created())));
    const requests = streams.map((stream) => requestSse(url(stream), { token, timeoutMs: 10_000 }));
    await waitFor(() => hub.stats().followers === 3);
    await waitFor(async () => (await connectionsNamed(readerName)).length === hub.stats().readerConnections);

    await hub.close();
    for (const result of await Promise.all(requests)) {
      assert.equal(result.completed, true);
      assert.deepEqual(ids(result), ['0-1']);
    }
    await Promise.all(streams.map((stream) => served.get(stream)!.followed));
    assert.equal(hub.stats().followers, 0);
    await waitFor(async () => (await connectionsNamed(readerName)).length === 0, 2_000, 'readers disconnected');
  });

  test('a follower that stops reading is ended without stalling the others', async () => {
    const { hub, url, served } = await startHub('slow', { maxBehind: 20 });
    await append('slow', created());
    const fast = requestSse(url('slow'), { token, timeoutMs: 60_000 });
    // A client that never reads: its socket buffers fill, then its queue.
    const slowSocket = net.connect(Number(new URL(url('slow')).port), '127.0.0.1');
    slowSocket.write(`GET /?stream=slow&name=slow-client HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    slowSocket.pause();
    await waitFor(() => hub.stats().followers === 2);

    const big = 'x'.repeat(64 * 1024);
    for (let seq = 2; seq <= 400; seq += 1) await append('slow', text(seq, big));
    // Ended while the run goes on (not by its end event), and the fast follower is still there.
    await within(served.get('slow-client')!.followed, 5_000, 'ending the slow follower');
    assert.equal(hub.stats().followers, 1);
    await append('slow', final(401));
    assert.deepEqual(ids(await fast), seqIds(1, 401));
    assert.equal(hub.stats().followers, 0);
    slowSocket.destroy();
  });

  test('a killed reader connection resumes from each stream\'s last id', async () => {
    const { hub, url, readerName, warnings } = await startHub('killed', { readers: 1, blockMs: 2_000 });
    await append('killed', created());
    const request = requestSse(url('killed'), { token, timeoutMs: 30_000 });
    await waitFor(() => hub.stats().readerConnections === 1);
    await append('killed', text(2));
    const [reader] = await connectionsNamed(readerName);
    await redis.client('KILL', 'ID', reader!.id);
    await append('killed', text(3));
    await waitFor(async () => (await connectionsNamed(readerName)).length === 1, 10_000, 'reader reconnected');
    await append('killed', text(4), final(5));
    assert.deepEqual(ids(await request), seqIds(1, 5));
    assert.ok(warnings.includes('SSE stream reader connection lost; reconnecting'), `warnings: ${warnings.join('; ')}`);
  });

  test('a lost stream is followed while it is rebuilt, and ends the followers when it is not', async () => {
    const { url } = await startHub('lost', { lostStreamGraceMs: 1_500 });
    await append('lost-rebuilt', created(), text(2));
    await append('lost-gone', created());
    // Both followers have caught up before their streams go.
    const seen = new Set<string>();
    const rebuilt = requestSse(url('lost-rebuilt'), { token, timeoutMs: 15_000, disconnectWhen: (event) => (event.id === '0-2' && seen.add('rebuilt'), false) });
    const gone = requestSse(url('lost-gone'), { token, timeoutMs: 15_000, disconnectWhen: (event) => (event.id === '0-1' && seen.add('gone'), false) });
    await waitFor(() => seen.size === 2, 10_000, 'both followers caught up');

    await redis.del(keyPrefix + 'lost-rebuilt', keyPrefix + 'lost-gone');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The worker rebuilds with the same ids: the follower gets only what it had not seen.
    await append('lost-rebuilt', created(), text(2), text(3), final(4));
    assert.deepEqual(ids(await rebuilt), seqIds(1, 4));

    const startedAt = Date.now();
    const goneResult = await gone;
    assert.equal(goneResult.completed, true);
    assert.deepEqual(ids(goneResult), ['0-1']);
    assert.ok(Date.now() - startedAt < 5_000);
  });
});

describe('follower limits', () => {
  test('counts open streams per user and releases once', () => {
    const limits = createFollowerLimits(2);
    const first = limits.tryAcquire('u1');
    const second = limits.tryAcquire('u1');
    assert.ok(first && second);
    assert.equal(limits.tryAcquire('u1'), undefined);
    assert.ok(limits.tryAcquire('u2'));
    first();
    first();
    assert.equal(limits.count('u1'), 1);
    assert.ok(limits.tryAcquire('u1'));
  });
});
