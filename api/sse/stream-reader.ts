import type { Redis } from 'ioredis';
import type { SequencedEvent } from '../../shared/run-events.ts';
import { parseEntries, seqOfId } from '../../shared/run-stream.ts';

/** The part of a pino (or Fastify) logger the SSE hub uses. */
export interface HubLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** Where reading a stream resumes: the id of the last entry read. The reader advances it. */
export interface ReadPosition {
  lastId: string;
}

/**
 * One blocking Redis connection that reads many run streams with one `XREAD BLOCK` at a time. A stream
 * added while the XREAD is blocked would otherwise wait for the block timeout, so the reader is woken
 * with `CLIENT UNBLOCK` from the command connection (coalesced: several additions, one unblock).
 */
export interface StreamReader {
  add(key: string, position: ReadPosition): void;
  /** Stops reading `key`; an answer for it from an XREAD still in flight is ignored. */
  remove(key: string): void;
  /** Whether its connection has been made (connections are made when the first stream is added). */
  readonly connected: boolean;
  close(): Promise<void>;
}

type StreamReadReply = Array<[key: string, entries: Array<[id: string, fields: string[]]>]>;
type XreadWithArguments = (args: Array<string | number>) => Promise<StreamReadReply | null>;

const MAX_RETRY_DELAY_MS = 5_000;

export function createStreamReader(options: {
  index: number;
  /** The shared command connection, used to send `CLIENT UNBLOCK` (a blocked connection cannot). */
  command: Redis;
  createConnection: () => Redis;
  blockMs: number;
  count: number;
  log: HubLogger;
  onEntries(key: string, items: SequencedEvent[]): void;
}): StreamReader {
  const { index, command, blockMs, count, log } = options;
  const streams = new Map<string, ReadPosition>();
  let connection: Redis | undefined;
  let clientId: number | undefined;
  let loop: Promise<void> | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  let cancelRetryDelay: (() => void) | undefined;
  // The XREAD in flight: a generation number, and whether streams were added after its keys were taken.
  let generation = 0;
  let inFlight = false;
  let stale = false;
  let unblockedGeneration = -1;
  let unblockScheduled = false;
  let unblocking = false;

  function connect(): Redis {
    const created = options.createConnection();
    // One warning per outage: ioredis reports every failed reconnect attempt. While it reconnects, the
    // XREAD in flight is resent on the new connection, so followers see a delay, not an error.
    let reported = false;
    const report = (error?: Error) => {
      if (reported || closed) return;
      reported = true;
      log.warn({ err: error, reader: index }, 'SSE stream reader connection lost; reconnecting');
    };
    created.on('error', report);
    created.on('reconnecting', () => report());
    created.on('ready', () => {
      reported = false;
    });
    // A reconnected client has a new id; the loop asks for it again before its next XREAD.
    created.on('close', () => {
      clientId = undefined;
    });
    return created;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!closed) {
      if (streams.size === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      try {
        connection ??= connect();
        if (clientId === undefined) clientId = Number(await connection.client('ID'));
        if (closed) break;
        const reply = await readOnce(connection);
        failures = 0;
        if (reply) dispatch(reply);
      } catch (error) {
        if (closed) break;
        clientId = undefined;
        failures += 1;
        const retryInMs = Math.min(100 * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
        log.warn({ err: error, reader: index, streams: streams.size, retryInMs }, 'SSE stream reader failed; resuming from each stream\'s last id');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryInMs);
          cancelRetryDelay = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        cancelRetryDelay = undefined;
      }
    }
  }

  function readOnce(reader: Redis): Promise<StreamReadReply | null> {
    // Keys then ids, built per loop: fine for thousands of streams, and always the current set.
    const args: Array<string | number> = new Array(5 + 2 * streams.size);
    args[0] = 'COUNT';
    args[1] = count;
    args[2] = 'BLOCK';
    args[3] = blockMs;
    args[4] = 'STREAMS';
    let keyIndex = 5;
    let idIndex = 5 + streams.size;
    for (const [key, position] of streams) {
      args[keyIndex++] = key;
      args[idIndex++] = position.lastId;
    }
    generation += 1;
    stale = false;
    inFlight = true;
    return (reader.xread as unknown as XreadWithArguments).call(reader, args).finally(() => {
      inFlight = false;
    });
  }

  function dispatch(reply: StreamReadReply): void {
    for (const [key, raw] of reply) {
      const position = streams.get(key);
      if (!position || raw.length === 0) continue;
      // The stream may have been removed and added again while this XREAD was out: never move back.
      const positionSeq = seqOfId(position.lastId) ?? 0;
      const lastId = raw[raw.length - 1]![0];
      if ((seqOfId(lastId) ?? 0) <= positionSeq) continue;
      position.lastId = lastId;
      try {
        options.onEntries(key, parseEntries(raw).filter((item) => item.seq > positionSeq));
      } catch (error) {
        log.warn({ err: error, reader: index, streamKey: key }, 'SSE stream entries could not be delivered');
      }
    }
  }

  function needsUnblock(): boolean {
    return !closed && inFlight && stale && unblockedGeneration !== generation;
  }

  function scheduleUnblock(): void {
    if (unblockScheduled || unblocking) return;
    unblockScheduled = true;
    // One unblock for every stream added in this turn of the event loop.
    setImmediate(() => {
      unblockScheduled = false;
      void unblock();
    });
  }

  async function unblock(): Promise<void> {
    if (unblocking) return;
    unblocking = true;
    let failed = false;
    try {
      for (let attempt = 0; needsUnblock(); attempt += 1) {
        const target = generation;
        if (clientId !== undefined && Number(await command.client('UNBLOCK', clientId)) === 1) {
          unblockedGeneration = target;
          break;
        }
        // 0: the XREAD has not reached Redis yet (or was just answered), or the reader is reconnecting;
        // retry while that XREAD is still out (at worst until its block timeout).
        await sleep(Math.min(1 + attempt * 2, 25));
      }
    } catch (error) {
      failed = true;
      log.warn({ err: error, reader: index }, 'SSE stream reader could not be woken; new streams wait for the block timeout');
    } finally {
      unblocking = false;
      if (!failed && needsUnblock()) scheduleUnblock();
    }
  }

  return {
    add(key, position) {
      streams.set(key, position);
      if (closed) return;
      loop ??= run();
      if (wake) {
        const resolve = wake;
        wake = undefined;
        resolve();
      } else if (inFlight) {
        stale = true;
        scheduleUnblock();
      }
    },
    remove(key) {
      streams.delete(key);
    },
    get connected() {
      return connection !== undefined;
    },
    async close() {
      closed = true;
      streams.clear();
      wake?.();
      cancelRetryDelay?.();
      connection?.disconnect();
      await loop;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
