import type { Redis } from 'ioredis';
import { isEndEvent, type RunEvent, type SequencedEvent } from './run-events.ts';

/**
 * A run's events live in one Redis Stream. Entry id `0-<seq>` (the run's own sequence, see
 * shared/run-events.ts), one field `d` holding the event as JSON. The stream is never trimmed: a reply
 * keeps its beginning; its writers batch deltas instead (activities/chat/coalescing-writer.ts).
 *
 * Writers are fenced: the attempt that streams the reply claims the fence key, and each append checks
 * it in a script, so a stale attempt (alive, but given up on by Temporal) cannot interleave with its
 * successor, and once the run is closed (fence "closed") nothing more is appended. A missing fence while
 * an attempt is writing means Redis lost its data (restart without persistence): the script says so,
 * and the writer rebuilds the stream with the same ids.
 */
export const CLOSED_FENCE = 'closed';

export function entryId(seq: number): string {
  return `0-${seq}`;
}

/** The sequence number in an entry id, or undefined when the id is not one of ours. */
export function seqOfId(id: string): number | undefined {
  const match = /^0-(\d+)$/.exec(id);
  return match ? Number(match[1]) : undefined;
}

export type AppendResult = 'appended' | 'fenced-out' | 'lost';

/** 1 appended (or already there: a rebuilt stream may hold it), 0 fenced out, -1 the fence is gone. */
export const FENCED_APPEND_SCRIPT = `
local fence = redis.call('GET', KEYS[2])
if not fence then return -1 end
if fence ~= ARGV[1] then return 0 end
local added = redis.pcall('XADD', KEYS[1], '0-' .. ARGV[2], 'd', ARGV[3])
if type(added) == 'table' and added.err and not string.find(added.err, 'equal or smaller') then return redis.error_reply(added.err) end
return 1
`;

/**
 * An attempt claims the fence and reads the stream in one step, unless the run is closed (then it gets
 * `{0}` and writes nothing): a late writer can never reopen a run whose final event is written.
 */
export const CLAIM_FENCE_SCRIPT = `
if redis.call('GET', KEYS[2]) == '${CLOSED_FENCE}' then return {0} end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return {1, redis.call('XRANGE', KEYS[1], '-', '+')}
`;

/** Defined on every client by shared/redis-client.ts. */
type FencedRedis = Redis & {
  durachatFencedAppend(stream: string, fence: string, owner: string, seq: number, data: string): Promise<number>;
  durachatClaimFence(stream: string, fence: string, owner: string, expireSeconds: number): Promise<[0] | [1, Array<[string, string[]]>]>;
};

/** Claims the fence for `owner` and reads the stream; `closed` when the run has been closed. */
export async function claimFence(redis: Redis, stream: string, fence: string, owner: string, expireSeconds: number): Promise<{ closed: true } | { closed: false; items: SequencedEvent[] }> {
  const result = await (redis as FencedRedis).durachatClaimFence(stream, fence, owner, expireSeconds);
  return result[0] === 0 ? { closed: true } : { closed: false, items: parseEntries(result[1] ?? []) };
}

export async function appendFenced(redis: Redis, stream: string, fence: string, owner: string, item: SequencedEvent): Promise<AppendResult> {
  const result = await (redis as FencedRedis).durachatFencedAppend(stream, fence, owner, item.seq, JSON.stringify(item.event));
  return result === 1 ? 'appended' : result === 0 ? 'fenced-out' : 'lost';
}

/** Appends without a fence (the API's `created`, the closer's final event); an id already there is kept. */
export async function appendUnfenced(redis: Redis, stream: string, item: SequencedEvent, expireSeconds?: number): Promise<void> {
  const pipeline = redis.multi().xadd(stream, entryId(item.seq), 'd', JSON.stringify(item.event));
  if (expireSeconds) pipeline.expire(stream, expireSeconds);
  const results = await pipeline.exec();
  const error = results?.[0]?.[0];
  if (error && !/equal or smaller/.test(error.message)) throw error;
}

/**
 * Writes a lost stream again, with the same ids, and claims the fence for `owner`: one MULTI, so
 * followers see either nothing or the whole rebuilt prefix.
 */
export async function rebuildStream(redis: Redis, stream: string, fence: string, owner: string, items: SequencedEvent[], expireSeconds: number): Promise<void> {
  const pipeline = redis.multi().del(stream);
  for (const item of items) pipeline.xadd(stream, entryId(item.seq), 'd', JSON.stringify(item.event));
  pipeline.expire(stream, expireSeconds).set(fence, owner, 'EX', expireSeconds);
  await pipeline.exec();
}

export function parseEntries(raw: Array<[string, string[]]>): SequencedEvent[] {
  const items: SequencedEvent[] = [];
  for (const [id, fields] of raw) {
    const seq = seqOfId(id);
    const dataIndex = fields.indexOf('d');
    if (seq === undefined || dataIndex < 0) continue;
    items.push({ seq, event: JSON.parse(fields[dataIndex + 1]!) as RunEvent });
  }
  return items;
}

/** Every event after `afterSeq` (0 = all). */
export async function readEvents(redis: Redis, stream: string, afterSeq = 0): Promise<SequencedEvent[]> {
  return parseEntries((await redis.xrange(stream, `(${entryId(afterSeq)}`, '+')) as Array<[string, string[]]>);
}

/** The stream's last event, if any. */
export async function readLastEvent(redis: Redis, stream: string): Promise<SequencedEvent | undefined> {
  return parseEntries((await redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>)[0];
}

export function endsRun(item: SequencedEvent | undefined): boolean {
  return item !== undefined && isEndEvent(item.event);
}
