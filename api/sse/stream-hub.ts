import type { Redis } from 'ioredis';
import type { ServerResponse } from 'node:http';
import type { SequencedEvent } from '../../shared/run-events.ts';
import { endsRun, entryId, readEvents, readLastEvent } from '../../shared/run-stream.ts';
import { encodeLibreChatEvent, encodeProtocol2Event, formatSse } from './librechat-encoder.ts';
import { createStreamFollower, type StreamFollower } from './stream-follower.ts';
import { createStreamReader, type HubLogger, type StreamReader } from './stream-reader.ts';

export { createFollowerLimits, type FollowerLimits } from './follower-limits.ts';
export type { HubLogger } from './stream-reader.ts';

type Encode = (item: SequencedEvent) => string | undefined;

export interface FollowRequest {
  streamKey: string;
  /** The last seq the client has (Last-Event-ID `0-<seq>`), 0 for the whole stream. */
  afterSeq: number;
  /** Already opened as SSE (api/sse.ts `openSse`); the hub writes events and ends it. */
  response: ServerResponse;
  /** One event in the client's wire format, or undefined to skip it. Default: LibreChat's. */
  encode?: Encode;
}

export interface StreamHubStats {
  followers: number;
  streams: number;
  readerConnections: number;
}

export interface StreamHub {
  /** Resolves when the follower is done: its run ended, the client went away, or the hub closed. */
  follow(request: FollowRequest): Promise<void>;
  /** Ends every follower's response (clients reconnect with Last-Event-ID) and disconnects the readers. */
  close(): Promise<void>;
  stats(): StreamHubStats;
}

export interface StreamHubOptions {
  /** The shared command client: catch-up reads, and `CLIENT UNBLOCK` for the readers. */
  redis: Redis;
  /** A dedicated connection for blocking reads; called once per reader, when it first has a stream. */
  createReader: () => Redis;
  readers?: number;
  keepAliveMs?: number;
  /** How long one `XREAD` blocks; new streams wake it at once, so this only bounds idle round trips. */
  blockMs?: number;
  /** How long a stream may be missing (Redis lost it) while the worker rebuilds it, before followers end. */
  lostStreamGraceMs?: number;
  /** Events a slow follower may be behind before it is ended (it reconnects with Last-Event-ID). */
  maxBehind?: number;
  log: HubLogger;
}

interface FollowedStream {
  key: string;
  /** Where the reader resumes; unknown (and not read) until the stream's tail has been looked up. */
  lastId: string;
  reading: boolean;
  reader: StreamReader;
  followers: Set<StreamFollower>;
  missingSince?: number;
}

const READ_COUNT = 500;

export function encodeForLibreChat(item: SequencedEvent): string | undefined {
  const encoded = encodeLibreChatEvent(item.event);
  return encoded && formatSse(item, encoded);
}

/** The encoder for LibreChat's newest client (generation protocol 2). */
export function encodeForProtocol2(item: SequencedEvent): string | undefined {
  const encoded = encodeProtocol2Event(item.event);
  return encoded && formatSse(item, encoded);
}

/**
 * Serves every SSE follower of this process from `readers` blocking connections plus the command
 * connection, instead of one connection per follower. Each stream is read once, by the reader its key
 * hashes to, and fanned out to all of its followers.
 */
export function createStreamHub(options: StreamHubOptions): StreamHub {
  const { redis, log } = options;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const lostStreamGraceMs = options.lostStreamGraceMs ?? 30_000;
  const maxBehind = options.maxBehind ?? 5_000;
  const streams = new Map<string, FollowedStream>();
  const followers = new Set<StreamFollower>();
  let closed = false;

  // Followers of one stream get the same item objects from a read: each is encoded once per encoder.
  const sharedEncoders = new WeakMap<Encode, Encode>();
  function sharedEncoder(encode: Encode): Encode {
    let shared = sharedEncoders.get(encode);
    if (!shared) {
      const encoded = new WeakMap<SequencedEvent, string | undefined>();
      shared = (item) => {
        if (encoded.has(item)) return encoded.get(item);
        const text = encode(item);
        encoded.set(item, text);
        return text;
      };
      sharedEncoders.set(encode, shared);
    }
    return shared;
  }

  const readers = Array.from({ length: Math.max(1, options.readers ?? 2) }, (_, index) =>
    createStreamReader({ index, command: redis, createConnection: options.createReader, blockMs: options.blockMs ?? 5_000, count: READ_COUNT, log, onEntries: deliver }),
  );

  function deliver(key: string, items: SequencedEvent[]): void {
    const stream = streams.get(key);
    if (!stream) return;
    stream.missingSince = undefined;
    for (const follower of stream.followers) follower.push(items);
  }

  function register(key: string, follower: StreamFollower): FollowedStream {
    let stream = streams.get(key);
    if (!stream) {
      stream = { key, lastId: entryId(0), reading: false, reader: readers[hashKey(key) % readers.length]!, followers: new Set() };
      streams.set(key, stream);
      void startReading(stream);
    }
    stream.followers.add(follower);
    followers.add(follower);
    return stream;
  }

  /**
   * A new stream is read from its current tail. The lookup is sent on the command connection before any
   * follower's catch-up read, so every catch-up covers at least up to that tail: no gap between them.
   */
  async function startReading(stream: FollowedStream): Promise<void> {
    let lastId: string | undefined;
    try {
      const last = (await redis.xrevrange(stream.key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      lastId = last[0]?.[0] ?? entryId(0);
    } catch (error) {
      log.warn({ err: error, streamKey: stream.key }, 'SSE stream tail lookup failed; reading from the followers\' positions');
    }
    if (closed || streams.get(stream.key) !== stream) return;
    // Without the tail, reading from the lowest position a follower holds is safe; repeats are dropped by seq.
    stream.lastId = lastId ?? entryId(Math.min(...[...stream.followers].map((follower) => follower.afterSeq)));
    stream.reading = true;
    stream.reader.add(stream.key, stream);
  }

  function unregister(stream: FollowedStream, follower: StreamFollower): void {
    followers.delete(follower);
    stream.followers.delete(follower);
    if (stream.followers.size > 0 || streams.get(stream.key) !== stream) return;
    streams.delete(stream.key);
    if (stream.reading) stream.reader.remove(stream.key);
  }

  // Redis lost a stream (restart without persistence): the worker rebuilds it with the same ids, and the
  // XREAD positions stay valid, so followers wait for it a while; then they end and clients reconnect.
  let checkingLostStreams = false;
  const lostStreamCheck = setInterval(() => void checkLostStreams(), Math.min(10_000, lostStreamGraceMs / 3)).unref();

  async function checkLostStreams(): Promise<void> {
    if (checkingLostStreams) return;
    checkingLostStreams = true;
    try {
      const reading = [...streams.values()].filter((stream) => stream.reading);
      if (reading.length === 0) return;
      const pipeline = redis.pipeline();
      for (const stream of reading) pipeline.exists(stream.key);
      const results = (await pipeline.exec()) ?? [];
      const now = Date.now();
      reading.forEach((stream, index) => {
        const [error, exists] = results[index] ?? [];
        if (error || exists === undefined) return;
        if (exists) {
          stream.missingSince = undefined;
          return;
        }
        stream.missingSince ??= now;
        if (now - stream.missingSince < lostStreamGraceMs) return;
        log.warn({ streamKey: stream.key, followers: stream.followers.size }, 'SSE stream is gone; ending its followers so they reconnect');
        for (const follower of stream.followers) follower.end('stream-lost');
      });
    } catch (error) {
      log.warn({ err: error }, 'SSE lost-stream check failed');
    } finally {
      checkingLostStreams = false;
    }
  }

  async function follow(request: FollowRequest): Promise<void> {
    const { response, streamKey, afterSeq } = request;
    if (response.destroyed || response.writableEnded) return;
    if (closed) return catchUpAndEnd(request);
    // Registered before the catch-up read, so live entries read meanwhile are buffered, not missed.
    let stream: FollowedStream | undefined;
    const follower = createStreamFollower({
      response,
      afterSeq,
      encode: sharedEncoder(request.encode ?? encodeForLibreChat),
      keepAliveMs,
      maxBehind,
      log,
      onDone: () => unregister(stream!, follower),
    });
    stream = register(streamKey, follower);
    try {
      const caughtUp = await readEvents(redis, streamKey, afterSeq);
      if (follower.done) return;
      if (caughtUp.length === 0) {
        // Nothing new: the stream may be gone, or already ended at or before the client's position.
        const last = await readLastEvent(redis, streamKey);
        if (follower.done) return;
        if (!last) return follower.end('not-found');
        if (endsRun(last) && last.seq <= afterSeq) return follower.end('run-ended');
      }
      follower.goLive(caughtUp);
    } catch (error) {
      log.warn({ err: error, streamKey }, 'SSE catch-up read failed; ending the response so the client reconnects');
      follower.end('read-failed');
    }
    await follower.finished;
  }

  /**
   * After close(): a request that was starting its run as the server began to stop still gets what the
   * stream holds (at least `created`, which names the run) before the end, so the client resumes on
   * another process with Last-Event-ID instead of never learning which run its message started.
   */
  async function catchUpAndEnd(request: FollowRequest): Promise<void> {
    const follower = createStreamFollower({
      response: request.response,
      afterSeq: request.afterSeq,
      encode: request.encode ?? encodeForLibreChat,
      keepAliveMs,
      maxBehind,
      log,
      onDone: () => undefined,
    });
    try {
      follower.goLive(await readEvents(redis, request.streamKey, request.afterSeq));
    } catch (error) {
      log.warn({ err: error, streamKey: request.streamKey }, 'SSE catch-up read failed while closing');
    }
    follower.end('closing');
    await follower.finished;
  }

  return {
    follow,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(lostStreamCheck);
      for (const follower of [...followers]) follower.end('closing');
      await Promise.all(readers.map((reader) => reader.close()));
    },
    stats: () => ({ followers: followers.size, streams: streams.size, readerConnections: readers.filter((reader) => reader.connected).length }),
  };
}

/** FNV-1a: a cheap, stable spread of stream keys over the readers. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
