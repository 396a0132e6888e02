import type { Redis } from 'ioredis';
import type { SequencedEvent } from './run-events.ts';
import { readEvents } from './run-stream.ts';

/**
 * A file's ingestion progress, as a Redis Stream read by the same SSE hub as run streams (api/sse/): entry
 * ids `0-<seq>`, one field `d` holding the event as JSON, and the stream ends with a `final` (ready) or an
 * `error` event — the two types the hub already treats as a stream's end, which is why they are named so.
 *
 * Writers are the ingestion activities (stage changes, embedding counts, the outcome) and the API (a
 * snapshot of the record when a follower finds no stream, and the error when the ingestion cannot be
 * queued). Each append runs one script that:
 * - refuses to write after an end event, so a retried activity never sends a second outcome;
 * - gives the entry `seq = max(last seq + 1, now in ms)`: increasing within the stream, and, should Redis
 *   lose the stream, the rebuilt one starts above every id a client holds, so its Last-Event-ID never hides
 *   the new events (a plain counter would restart at 1 and the client would skip them).
 */
export type FileProgressEvent =
  /** The file entered a stage; `attempt` > 1 when a retried ingestion starts its stages again. */
  | { type: 'stage'; status: 'pending' | 'extracting' | 'embedding'; attempt?: number }
  /** Chunks embedded and indexed so far, of `total`. A retry resumes at the count its predecessor reached. */
  | { type: 'embedding'; embedded: number; total: number }
  /** Ready: searchable, with this many chunks (last event). */
  | { type: 'final'; status: 'ready'; chunks: number }
  /** Failed, with a message for the user (last event). */
  | { type: 'error'; status: 'error'; error: string };

export interface SequencedFileEvent {
  seq: number;
  event: FileProgressEvent;
}

export const isFileEndEvent = (event: FileProgressEvent) => event.type === 'final' || event.type === 'error';

/** Stream lifetimes: long while the file is processed (a stage may take a while), the run streams' TTL once ended. */
export interface FileProgressTtl {
  runningSeconds: number;
  endedSeconds: number;
}
export const FILE_PROGRESS_RUNNING_TTL_SECONDS = 24 * 60 * 60;

/**
 * KEYS[1] the stream. ARGV: now (ms), event JSON, 1 when the event ends the stream, running TTL, ended TTL,
 * 1 to write only when the stream does not exist (the API's snapshot). Returns the seq written, 0 if refused.
 */
export const FILE_PROGRESS_APPEND_SCRIPT = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local lastSeq = 0
if #last > 0 then
  if ARGV[6] == '1' then return 0 end
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'end' then return 0 end
  end
  lastSeq = tonumber(string.match(last[1][1], '^0%-(%d+)$')) or 0
end
local seq = math.max(lastSeq + 1, tonumber(ARGV[1]))
local id = '0-' .. string.format('%.0f', seq)
if ARGV[3] == '1' then
  redis.call('XADD', KEYS[1], id, 'd', ARGV[2], 'end', '1')
  redis.call('EXPIRE', KEYS[1], ARGV[5])
else
  redis.call('XADD', KEYS[1], id, 'd', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return seq
`;

/**
 * Appends one event; undefined when refused (the stream already ended, or `onlyIfMissing` and it exists).
 * `EVAL` rather than a command defined on the client: the script is small and the events are few.
 */
export async function appendFileProgress(redis: Redis, key: string, event: FileProgressEvent, ttl: FileProgressTtl, options: { onlyIfMissing?: boolean; now?: number } = {}): Promise<number | undefined> {
  const seq = (await redis.eval(
    FILE_PROGRESS_APPEND_SCRIPT,
    1,
    key,
    String(Math.floor(options.now ?? Date.now())),
    JSON.stringify(event),
    isFileEndEvent(event) ? '1' : '0',
    String(ttl.runningSeconds),
    String(ttl.endedSeconds),
    options.onlyIfMissing ? '1' : '0',
  )) as number;
  return seq > 0 ? seq : undefined;
}

/** The whole stream (same entry format as a run's, so the run stream's reader parses it). */
export async function readFileProgress(redis: Redis, key: string): Promise<SequencedFileEvent[]> {
  return (await readEvents(redis, key)).map(asFileEvent);
}

/**
 * The stream hub (api/sse/stream-hub.ts) carries run events; a file stream's entries have the same framing
 * and end rule, so the hub reads them as they are and this is the one place that says what they really are.
 */
export function asFileEvent(item: SequencedEvent): SequencedFileEvent {
  return item as unknown as SequencedFileEvent;
}
