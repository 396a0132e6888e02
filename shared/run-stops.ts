import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.ts';

/**
 * "Stop" reaches a running activity two ways. Temporal's cancellation is the authority (the workflow is
 * cancelled, it cancels the activity, the activity learns of it in the response to its next heartbeat), but
 * heartbeats are spaced seconds apart: each costs the Temporal server ~3 ms of CPU (bench/README.md, "Fewer
 * heartbeats"). So the API also publishes the run's stream id on a Redis channel once the cancellation is
 * requested, and the worker streaming that run stops reading the model at once and heartbeats to collect
 * the cancellation (activities/activity-heartbeat.ts). The channel only hurries what Temporal decides: a
 * lost message costs promptness, never correctness.
 */
export async function publishRunStop(redis: Redis, keys: RedisKeys, streamId: string): Promise<void> {
  await redis.publish(keys.runStop, streamId);
}

export interface RunStops {
  /** Calls `onStop` when the run is stopped, until the returned function is called. */
  watch(streamId: string, onStop: () => void): () => void;
  /** How long an activity stopped this way waits for Temporal's cancellation before it gives up on it. */
  readonly confirmWithinMs: number;
}

/** A stop that Temporal does not confirm within this (a stop published for a run that was not cancelled) is treated as a dropped stream: retried. */
const CONFIRM_WITHIN_MS = 15_000;

/** One subscription per worker process, shared by every activity that watches a run. */
export async function startRunStopWatcher(redis: Redis, keys: RedisKeys, options: { confirmWithinMs?: number; log?: (message: string) => void } = {}): Promise<RunStops & { close(): Promise<void> }> {
  const watchers = new Map<string, Set<() => void>>();
  const subscriber = redis.duplicate({ connectionName: 'durachat-run-stop', enableAutoPipelining: false });
  // Reconnects on its own after a Redis outage (stops published meanwhile are lost: those runs stop with their next heartbeat).
  subscriber.on('error', (error: Error) => options.log?.(`run-stop subscription: ${error.message}`));
  subscriber.on('message', (_channel: string, streamId: string) => {
    for (const onStop of watchers.get(streamId) ?? []) onStop();
  });
  await subscriber.subscribe(keys.runStop);
  return {
    confirmWithinMs: options.confirmWithinMs ?? CONFIRM_WITHIN_MS,
    watch(streamId, onStop) {
      let set = watchers.get(streamId);
      if (!set) watchers.set(streamId, (set = new Set()));
      set.add(onStop);
      return () => {
        set.delete(onStop);
        if (set.size === 0 && watchers.get(streamId) === set) watchers.delete(streamId);
      };
    },
    async close() {
      watchers.clear();
      await subscriber.quit().catch(() => {});
    },
  };
}
