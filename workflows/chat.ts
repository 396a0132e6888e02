import { type ActivityOptions, CancellationScope, isCancellation, log, patched, proxyActivities, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ChatRunInput, ReplyOutcome } from '../shared/chat-run.ts';
import { dbWrite, failureMessage, modelCall } from './activity-options.ts';

/** The title is a nicety: two tries, then the conversation keeps "New Chat". */
const titleCall: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 2, initialInterval: '1 second' } };

const describeFailure = (error: unknown) => failureMessage(error, 'The reply could not be generated.');

/**
 * One chat turn (workflow id `chat-<responseMessageId>`): save the request, stream the reply, then
 * always close the run (save what was streamed, send final or error, free the slot), even when the
 * run was cancelled by the user, the model call failed for good or saving the request did. A run that
 * never gets here (terminated or timed out in Temporal) is closed by the API's run sweeper.
 */
export async function chatWorkflow(input: ChatRunInput): Promise<ReplyOutcome> {
  const model = `${input.model} on ${input.endpoint}`;
  const db = proxyActivities<Activities>({ ...dbWrite, summary: 'save the request' });
  const llm = proxyActivities<Activities>({ ...modelCall, summary: `stream the reply from ${model}` });
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
