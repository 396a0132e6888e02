import { ActivityCancellationType, ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ChatRunInput, ReplyOutcome } from '../shared/chat-run.ts';

/** Database writes: quick, idempotent, retried until the database is back (within the run's bound). */
const dbWrite = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 20 },
});

/**
 * The streaming model call. A short heartbeat timeout notices a dead worker within seconds; 429/5xx and
 * dropped connections are retried with backoff (each attempt visible in the Temporal UI); a refusal
 * (400/401/...) is final. Cancellation waits for the activity to stop writing before the run is closed.
 */
const llmCall = proxyActivities<Activities>({
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
});

/** The title is a nicety: two tries, then the conversation keeps "New Chat". */
const titleCall = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 2, initialInterval: '1 second' } });

function describeFailure(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure || cause instanceof Error) return cause.message;
  return 'The reply could not be generated.';
}

/**
 * One chat turn (workflow id `chat-<responseMessageId>`): save the request, stream the reply, then
 * always close the run (save what was streamed, send final or error, free the slot), even when the
 * run was cancelled by the user or the model call failed for good.
 */
export async function chatWorkflow(input: ChatRunInput): Promise<ReplyOutcome> {
  let outcome: ReplyOutcome;
  // Saving the request and streaming the reply start in the same workflow task (one round trip to
  // the server, not two): the prompt is built from the input's user message, not from the database.
  // The save is not cancellable and always awaited, so the request is stored before the run closes.
  const saved = CancellationScope.nonCancellable(() => dbWrite.saveRequest(input));
  try {
    const result = await llmCall.streamReply(input);
    outcome = { status: 'completed', finishReason: result.finishReason };
  } catch (error) {
    if (isCancellation(error)) {
      outcome = { status: 'aborted' };
    } else {
      outcome = { status: 'error', errorMessage: describeFailure(error) };
      log.warn('reply failed', { streamId: input.streamId, error: outcome.errorMessage });
    }
  }
  await CancellationScope.nonCancellable(async () => {
    await saved;
    const finished = await dbWrite.finishRun(input, outcome);
    if (outcome.status === 'completed' && input.generateTitle) {
      try {
        await titleCall.generateTitle(input, finished?.replyExcerpt);
      } catch (error) {
        log.warn('title generation failed; keeping "New Chat"', { error: describeFailure(error) });
      }
    }
  });
  return outcome;
}
