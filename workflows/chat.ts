import { type ActivityOptions, ActivityCancellationType, ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, log, patched, proxyActivities, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ChatRunInput, ReplyOutcome } from '../shared/chat-run.ts';

/** Database writes: quick and idempotent, retried while the database is down (within the run's 25-minute bound). */
const dbWrite: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 100 },
};

/**
 * The streaming model call. A short heartbeat timeout notices a dead worker within seconds; 429/5xx,
 * dropped or stalled connections, worker shutdowns and Redis outages are retried with backoff (each
 * attempt visible in the Temporal UI); a refusal (400/401/...) is final. Cancellation waits for the
 * activity to stop writing before the run is closed.
 */
const llmCall: ActivityOptions = {
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

/** The title is a nicety: two tries, then the conversation keeps "New Chat". */
const titleCall: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 2, initialInterval: '1 second' } };

function describeFailure(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure || cause instanceof Error) return cause.message;
  return 'The reply could not be generated.';
}

/**
 * One chat turn (workflow id `chat-<responseMessageId>`): save the request, stream the reply, then
 * always close the run (save what was streamed, send final or error, free the slot), even when the
 * run was cancelled by the user, the model call failed for good or saving the request did. A run that
 * never gets here (terminated or timed out in Temporal) is closed by the API's run sweeper.
 */
export async function chatWorkflow(input: ChatRunInput): Promise<ReplyOutcome> {
  const model = `${input.model} on ${input.endpoint}`;
  const db = proxyActivities<Activities>({ ...dbWrite, summary: 'save the request' });
  const llm = proxyActivities<Activities>({ ...llmCall, summary: `stream the reply from ${model}` });
  const closer = proxyActivities<Activities>({ ...dbWrite, summary: 'save the reply and close the run' });
  const background = proxyActivities<Activities>({ ...titleCall, summary: `title from ${model}`, ...(input.backgroundTaskQueue ? { taskQueue: input.backgroundTaskQueue } : {}) });

  let outcome: ReplyOutcome;
  // Saving the request and streaming the reply start in the same workflow task (one round trip to the
  // server, not two): the prompt is built from the input's user message, not from the database. Its
  // failure is noted at once (never an unhandled rejection) and stops the reply.
  const streaming = new CancellationScope();
  let saveFailure: string | undefined;
  const saved = CancellationScope.nonCancellable(() => db.saveRequest(input)).then(
    () => true,
    (error: unknown) => {
      saveFailure = describeFailure(error);
      log.error('saving the request failed for good', { streamId: input.streamId, error: saveFailure });
      streaming.cancel();
      return false;
    },
  );
  try {
    const result = await streaming.run(() => llm.streamReply(input));
    outcome = { status: 'completed', finishReason: result.finishReason };
  } catch (error) {
    if (saveFailure !== undefined) {
      outcome = { status: 'error', errorMessage: `Your message could not be saved: ${saveFailure}` };
    } else if (isCancellation(error)) {
      outcome = { status: 'aborted' };
    } else {
      outcome = { status: 'error', errorMessage: describeFailure(error) };
      log.warn('reply failed', { streamId: input.streamId, error: outcome.errorMessage });
    }
  }
  await CancellationScope.nonCancellable(async () => {
    const requestSaved = await saved;
    const finished = await closer.finishRun(input, outcome, { requestSaved });
    if (outcome.status === 'completed' && input.generateTitle) {
      try {
        const title = await background.generateTitle(input, finished?.replyExcerpt);
        if (patched('memo-title')) upsertMemo({ title });
      } catch (error) {
        log.warn('title generation failed; keeping "New Chat"', { error: describeFailure(error) });
      }
    }
  });
  return outcome;
}
