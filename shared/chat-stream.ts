import type { Redis } from 'ioredis';

/**
 * One Redis Stream per run carries its SSE events. Entry fields: `e` (SSE event name: message | error),
 * `d` (the JSON data line) and `x` ("1" on the run's last entry). The entry id is the SSE `id:`, so a
 * client's Last-Event-ID is an XREAD position.
 *
 * Writers are fenced: the worker attempt that streams the reply first claims the fence key; every
 * delta is appended by a script that checks the fence, so a stale attempt (a worker that lost its
 * heartbeat but is still alive) can never interleave text with its successor, and once the run is
 * closed (fence "closed") nothing more is appended.
 */
export interface StreamEntry {
  id: string;
  event: 'message' | 'error';
  data: string;
  end: boolean;
}

export const CLOSED_FENCE = 'closed';

export const FENCED_APPEND_SCRIPT = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[3], 'd', ARGV[4], 'x', ARGV[5])
`;

/** Defined on every client by shared/redis-client.ts. */
type FencedRedis = Redis & {
  durachatFencedAppend(stream: string, fence: string, expected: string, maxLength: number, event: string, data: string, end: string): Promise<string | null>;
};

export async function appendEntry(redis: Redis, stream: string, maxLength: number, event: StreamEntry['event'], data: unknown, end = false): Promise<string> {
  return (await redis.xadd(stream, 'MAXLEN', '~', String(maxLength), '*', 'e', event, 'd', JSON.stringify(data), 'x', end ? '1' : '0'))!;
}

/** Appends only while `fence` holds `owner`; returns undefined when fenced out. */
export async function appendFenced(redis: Redis, stream: string, fence: string, owner: string, maxLength: number, event: StreamEntry['event'], data: unknown): Promise<string | undefined> {
  const id = await (redis as FencedRedis).durachatFencedAppend(stream, fence, owner, maxLength, event, JSON.stringify(data), '0');
  return id ?? undefined;
}

export function parseEntries(raw: Array<[string, string[]]>): StreamEntry[] {
  return raw.map(([id, fields]) => {
    const values: Record<string, string> = {};
    for (let index = 0; index < fields.length; index += 2) values[fields[index]!] = fields[index + 1]!;
    return { id, event: values.e === 'error' ? 'error' : 'message', data: values.d ?? '{}', end: values.x === '1' };
  });
}

/** Entries after `afterId`, waiting up to `blockMs` for one; null when none came (XREAD BLOCK). */
export async function readEntriesAfter(redis: Redis, stream: string, afterId: string, blockMs: number, count: number): Promise<StreamEntry[] | null> {
  const result = (await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, afterId)) as Array<[string, Array<[string, string[]]>]> | null;
  return result ? parseEntries(result[0]![1]) : null;
}

export async function readAllEntries(redis: Redis, stream: string): Promise<StreamEntry[]> {
  return parseEntries((await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>);
}

/** The reply text clients were sent: every text delta of the run, in stream order. */
export function streamedText(entries: StreamEntry[]): string {
  let text = '';
  for (const entry of entries) {
    if (entry.event !== 'message' || !entry.data.includes('"on_message_delta"')) continue;
    const payload = JSON.parse(entry.data) as { event?: string; data?: { delta?: { content?: Array<{ type: string; text?: string }> } } };
    if (payload.event !== 'on_message_delta') continue;
    for (const part of payload.data?.delta?.content ?? []) if (part.type === 'text' && part.text) text += part.text;
  }
  return text;
}

/** `id: / event: / data:` framing of one SSE event. */
export function formatSse(entry: Pick<StreamEntry, 'id' | 'event' | 'data'>): string {
  return `id: ${entry.id}\nevent: ${entry.event}\ndata: ${entry.data}\n\n`;
}
