import type { Redis } from 'ioredis';
import { appendFileProgress, asFileEvent, FILE_PROGRESS_RUNNING_TTL_SECONDS, type FileProgressEvent, type FileProgressTtl } from '../../shared/file-progress.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import type { SequencedEvent } from '../../shared/run-events.ts';
import { endsRun, readEvents, readLastEvent } from '../../shared/run-stream.ts';
import type { PublicFile } from './file-views.ts';

/** One frame's `data`: the file's status as the record has it, plus what the event adds; `final` on the last. */
export type FileProgressData =
  | { file_id: string; status: 'pending' | 'extracting' | 'embedding'; attempt?: number }
  | { file_id: string; status: 'embedding'; embedded: number; total: number }
  | { file_id: string; status: 'ready'; chunks?: number; final: true }
  | { file_id: string; status: 'error'; error: string; final: true };

export function progressData(fileId: string, event: FileProgressEvent): FileProgressData {
  switch (event.type) {
    case 'stage':
      return { file_id: fileId, status: event.status, ...(event.attempt && event.attempt > 1 ? { attempt: event.attempt } : {}) };
    case 'embedding':
      return { file_id: fileId, status: 'embedding', embedded: event.embedded, total: event.total };
    case 'final':
      return { file_id: fileId, status: 'ready', chunks: event.chunks, final: true };
    case 'error':
      return { file_id: fileId, status: 'error', error: event.error, final: true };
  }
}

/**
 * Every frame is `event: message` (what an EventSource's `onmessage` gets, and what LibreChat's own streams
 * use), so a client needs no named listeners; the id is the stream position for Last-Event-ID.
 */
export function formatProgressFrame(data: FileProgressData, seq?: number): string {
  return `${seq !== undefined ? `id: 0-${seq}\n` : ''}event: message\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The end frame for a file that has already settled, from its record (its stream may have expired). */
export function settledFrame(file: PublicFile): string | undefined {
  if (file.status === 'ready') return formatProgressFrame({ file_id: file.file_id, status: 'ready', ...(file.chunks !== undefined ? { chunks: file.chunks } : {}), final: true });
  if (file.status === 'error') return formatProgressFrame({ file_id: file.file_id, status: 'error', error: file.error ?? 'The file could not be processed.', final: true });
  return undefined;
}

/** The API's side of the progress streams (shared/file-progress.ts): what it writes, and the hub's encoder. */
export function createFileProgressService(deps: { redis: Redis; keys: Pick<RedisKeys, 'fileProgress'>; endedTtlSeconds: number }) {
  const ttl: FileProgressTtl = { runningSeconds: FILE_PROGRESS_RUNNING_TTL_SECONDS, endedSeconds: deps.endedTtlSeconds };
  const encoderFor = (fileId: string) => (item: SequencedEvent) => {
    const { seq, event } = asFileEvent(item);
    return formatProgressFrame(progressData(fileId, event), seq);
  };
  return {
    streamKey: (fileId: string) => deps.keys.fileProgress(fileId),
    /**
     * A follower of a file still in progress needs a stream to follow: when there is none yet (the worker has
     * not reached its first stage) or no longer (Redis lost it), one starts with the record's status.
     */
    async ensureStream(file: PublicFile): Promise<void> {
      const status = file.status === 'extracting' || file.status === 'embedding' ? file.status : 'pending';
      await appendFileProgress(deps.redis, deps.keys.fileProgress(file.file_id), { type: 'stage', status }, ttl, { onlyIfMissing: true });
    },
    /** The ingestion could not even be queued: its followers end with the record's error. */
    async fail(fileId: string, error: string): Promise<void> {
      await appendFileProgress(deps.redis, deps.keys.fileProgress(fileId), { type: 'error', status: 'error', error }, ttl);
    },
    /**
     * A settled file's answer from its stream, while the stream still holds its end event: a client without a
     * position gets that end frame (with its id), a resuming one what it has not had yet, which is nothing once
     * it has had the end (so a reconnect after the end never gets the end again). Undefined when the stream
     * holds no end (expired, or the end not written yet): the caller answers from the record.
     */
    async settledFrames(fileId: string, afterSeq: number): Promise<string | undefined> {
      const key = deps.keys.fileProgress(fileId);
      const last = await readLastEvent(deps.redis, key);
      if (!last || !endsRun(last)) return undefined;
      const encode = encoderFor(fileId);
      if (afterSeq === 0) return encode(last);
      return (await readEvents(deps.redis, key, afterSeq)).map(encode).join('');
    },
    /** The hub's encoder for one file's stream. */
    encoderFor,
  };
}
export type FileProgressService = ReturnType<typeof createFileProgressService>;
