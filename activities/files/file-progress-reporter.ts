import { log } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import { appendFileProgress, FILE_PROGRESS_RUNNING_TTL_SECONDS, type FileProgressEvent, type FileProgressTtl } from '../../shared/file-progress.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';

export interface FileProgressReporter {
  /** A stage change or an embedding count: best effort (a Redis hiccup costs a progress line, not the ingestion). */
  report(fileId: string, event: Exclude<FileProgressEvent, { type: 'final' | 'error' }>): Promise<void>;
  /** The outcome: must land, so followers end; thrown errors are retried by the activity's retry policy. */
  finish(fileId: string, event: Extract<FileProgressEvent, { type: 'final' | 'error' }>): Promise<void>;
}

/** Writes the ingestion's progress stream (shared/file-progress.ts); built once by the worker from its Redis client. */
export function createFileProgressReporter(deps: { redis: Redis; keys: Pick<RedisKeys, 'fileProgress'>; endedTtlSeconds: number; warn?: (message: string, meta: object) => void }): FileProgressReporter {
  const ttl: FileProgressTtl = { runningSeconds: FILE_PROGRESS_RUNNING_TTL_SECONDS, endedSeconds: deps.endedTtlSeconds };
  return {
    async report(fileId, event) {
      try {
        await appendFileProgress(deps.redis, deps.keys.fileProgress(fileId), event, ttl);
      } catch (error) {
        (deps.warn ?? ((message, meta) => log.warn(message, meta as Record<string, unknown>)))('could not write a file progress event', { fileId, type: event.type, error: (error as Error).message });
      }
    },
    async finish(fileId, event) {
      await appendFileProgress(deps.redis, deps.keys.fileProgress(fileId), event, ttl);
    },
  };
}
