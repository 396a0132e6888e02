import { type ActivityOptions, ActivityCancellationType, ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * Option presets shared by the workflows (chat.ts, agent-run.ts, ingest-file.ts): one definition each, so
 * a chat reply and an agent's model step cannot drift apart in how they are retried.
 */

/** Database writes: quick and idempotent, retried while the database is down (within the run's bound). */
export const dbWrite: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 100 },
};

/**
 * A streaming model call (a chat reply, an agent's model step). A short heartbeat timeout notices a dead
 * worker within seconds; 429/5xx, dropped or stalled connections, worker shutdowns and Redis outages are
 * retried with backoff (each attempt visible in the Temporal UI); a refusal (400/401/...) is final.
 * Cancellation waits for the activity to stop writing before the run is closed.
 */
export const modelCall: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '15 seconds',
    maximumAttempts: 6,
    nonRetryableErrorTypes: ['ProviderRequestRejected', 'ContextTooLong', 'PromptUnavailable', 'Superseded', 'EndpointUnavailable'],
  },
};

/** What an activity failure wraps: the error the activity itself threw (the failure itself otherwise). */
export function activityCause(error: unknown): unknown {
  let cause: unknown = error;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  return cause;
}

/** The words of a failure for the user: the activity's own error message, else `fallback`. */
export function failureMessage(error: unknown, fallback: string): string {
  const cause = activityCause(error);
  return cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : fallback;
}
