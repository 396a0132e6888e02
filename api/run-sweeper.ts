import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { BalanceConfig } from '../shared/balance-config.ts';
import type { ChatRunInput } from '../shared/chat-run.ts';
import { closeRun } from '../shared/close-run.ts';
import type { RedisKeys } from '../shared/redis-keys.ts';
import type { RunRegistry } from '../shared/run-registry.ts';
import { appendUnfenced, readLastEvent, endsRun } from '../shared/run-stream.ts';

/** Why a workflow ended without closing its run, in words a user understands. */
const ENDED_WITHOUT_CLOSING: Record<string, string> = {
  TERMINATED: 'The reply was stopped by an operator.',
  TIMED_OUT: 'The reply took too long and was stopped.',
  FAILED: 'The reply failed and could not be completed.',
  CANCELLED: 'The reply was stopped.',
  COMPLETED: 'The reply ended unexpectedly.',
  CONTINUED_AS_NEW: 'The reply ended unexpectedly.',
};

/** A run whose workflow Temporal does not know after this long never started (the API died mid-start). */
const NEVER_STARTED_AFTER_MS = 60_000;
/** Each call to Temporal is bounded: a sweep must never hang (nor the shutdown that waits for it). */
const TEMPORAL_CALL_DEADLINE_MS = 3000;
/** Runs younger than this are left alone: their workflow may be starting right now. */
const MIN_AGE_MS = 3000;

/**
 * Closes runs whose workflow ended without closing them (terminated by an operator in the Temporal UI,
 * timed out, failed for good) or never started: every way a run can end must end it for the user, free
 * its slot and let its stream expire. Every API process runs one; a Redis lock lets one sweep at a time.
 * It describes each running run's workflow, which is fine for the hundreds of concurrent runs of one
 * deployment (a visibility query would scale further; see the performance issue).
 */
export function createRunSweeper(deps: {
  redis: Redis;
  keys: RedisKeys;
  runs: RunRegistry;
  temporal: Client;
  streamTtlSeconds: number;
  /** A run the sweeper closes is charged too (estimated from its text when the provider reported no usage). */
  balance?: BalanceConfig;
  log: FastifyBaseLogger;
  intervalMs?: number;
}) {
  const { redis, keys, runs, temporal, log } = deps;
  const intervalMs = deps.intervalMs ?? 2000;
  const owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  async function workflowInput(workflowId: string): Promise<ChatRunInput | undefined> {
    const history = await temporal.withDeadline(Date.now() + TEMPORAL_CALL_DEADLINE_MS, () => temporal.workflow.getHandle(workflowId).fetchHistory());
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    return payload ? defaultPayloadConverter.fromPayload<ChatRunInput>(payload) : undefined;
  }

  async function check(streamId: string, startedAt: number): Promise<void> {
    const run = await runs.get(streamId);
    if (!run || run.status !== 'running') {
      await runs.forgetRunning(streamId);
      return;
    }
    let status: string;
    try {
      const description = await temporal.withDeadline(Date.now() + TEMPORAL_CALL_DEADLINE_MS, () => temporal.workflow.getHandle(run.workflowId).describe());
      status = description.status.name;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      if (Date.now() - startedAt < NEVER_STARTED_AFTER_MS) return;
      // Nothing was saved (the workflow saves everything): tell followers and free the slot.
      log.warn({ streamId, workflowId: run.workflowId }, 'run sweeper: the workflow never started; closing the run');
      const last = await readLastEvent(redis, keys.chatStream(streamId));
      if (!endsRun(last)) {
        await appendUnfenced(redis, keys.chatStream(streamId), { seq: (last?.seq ?? 1) + 1, event: { type: 'error', message: 'Your message could not be started. Please send it again.', conversationId: run.conversationId } }, deps.streamTtlSeconds);
      }
      await runs.complete(run, 'error');
      return;
    }
    if (status === 'RUNNING') return;
    const input = await workflowInput(run.workflowId);
    if (!input) return;
    const message = ENDED_WITHOUT_CLOSING[status] ?? 'The reply ended unexpectedly.';
    log.warn({ streamId, workflowId: run.workflowId, status }, 'run sweeper: the workflow ended without closing its run; closing it');
    await closeRun({ redis, keys, runs, streamTtlSeconds: deps.streamTtlSeconds, balance: deps.balance }, input, { status: 'error', errorMessage: message });
  }

  async function sweep(): Promise<void> {
    if ((await redis.set(keys.runSweeperLock, owner, 'PX', intervalMs * 5, 'NX')) !== 'OK') return;
    try {
      const now = Date.now();
      const running = (await runs.listRunning(1000)).filter((run) => now - run.startedAt >= MIN_AGE_MS);
      // A few at a time: each check is a round trip to Temporal.
      for (let index = 0; index < running.length; index += 8) {
        await Promise.all(
          running.slice(index, index + 8).map(({ streamId, startedAt }) =>
            check(streamId, startedAt).catch((error: Error) => log.warn({ streamId, err: error }, 'run sweeper: could not check a run; next sweep retries')),
          ),
        );
      }
    } finally {
      // Released only if still ours (a slow sweep may have outlived the lock).
      if ((await redis.get(keys.runSweeperLock)) === owner) await redis.del(keys.runSweeperLock);
    }
  }

  return {
    start() {
      const loop = () => {
        sweeping = sweep()
          .catch((error: Error) => log.warn({ err: error }, 'run sweeper: sweep failed'))
          .finally(() => {
            sweeping = undefined;
            if (timer) {
              timer = setTimeout(loop, intervalMs);
              timer.unref();
            }
          });
      };
      timer = setTimeout(loop, intervalMs);
      timer.unref();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await Promise.race([sweeping, new Promise((resolve) => setTimeout(resolve, TEMPORAL_CALL_DEADLINE_MS).unref())]);
    },
    sweep,
  };
}
