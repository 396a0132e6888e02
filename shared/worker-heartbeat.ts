import os from 'node:os';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RedisKeys } from './redis-keys.ts';

const workerHeartbeatSchema = z.object({
  queues: z.array(z.string()),
  pid: z.number(),
  host: z.string(),
  startedAt: z.string(),
  beatAt: z.string(),
});
export type WorkerHeartbeat = z.infer<typeof workerHeartbeatSchema> & { workerId: string };

export interface WorkerHeartbeatHandle {
  /** Stops beating and deletes the key, so readiness drops this worker at once rather than at expiry. */
  stop(): Promise<void>;
}

/**
 * Tells the API's /ready which task queues have a live worker: a key per worker, rewritten every
 * `intervalMs` and expiring after three missed beats, so a killed worker disappears on its own.
 * A failed beat (Redis briefly down) is reported and retried at the next interval.
 */
export function startWorkerHeartbeat(
  redis: Redis,
  keys: Pick<RedisKeys, 'workerHeartbeat'>,
  options: { workerId: string; queues: string[]; intervalMs?: number; onError?: (error: Error) => void },
): WorkerHeartbeatHandle {
  const intervalMs = options.intervalMs ?? 5000;
  const key = keys.workerHeartbeat(options.workerId);
  const startedAt = new Date().toISOString();
  const onError = options.onError ?? ((error: Error) => console.warn(`worker heartbeat failed: ${error.message}`));
  let inFlight: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const beat = () => {
    const value = JSON.stringify({ queues: options.queues, pid: process.pid, host: os.hostname(), startedAt, beatAt: new Date().toISOString() });
    inFlight = redis.set(key, value, 'PX', intervalMs * 3).catch(onError);
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  // The heartbeat alone must not keep a finished worker process alive.
  timer.unref();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // A beat still on its way would otherwise re-create the key after the delete.
      await inFlight;
      await redis.del(key);
    },
  };
}

/** The workers whose heartbeat has not expired. SCAN, not KEYS: it never blocks Redis, and workers are few. */
export async function listLiveWorkers(redis: Redis, keys: Pick<RedisKeys, 'workerHeartbeat'>): Promise<WorkerHeartbeat[]> {
  const keyPrefix = keys.workerHeartbeat('');
  const pattern = `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (found.length === 0) return [];
  const values = await redis.mget(...found);
  return found.flatMap((key, index) => {
    const parsed = workerHeartbeatSchema.safeParse(safeJson(values[index]));
    // Expired between SCAN and MGET, or written by something else under the same prefix: not a live worker.
    return parsed.success ? [{ ...parsed.data, workerId: key.slice(keyPrefix.length) }] : [];
  });
}

function safeJson(value: string | null | undefined): unknown {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
