import { type ActivityOptions, ApplicationFailure, CancellationScope, isCancellation, log, patched, proxyActivities, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ChatRunInput, ReplyOutcome } from '../shared/chat-run.ts';
import { activityCause, dbWrite, failureMessage, modelCall } from './activity-options.ts';

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
  if (patched('turn-in-one-activity')) return turnInOneActivity(input);
  return turnInThreeActivities(input);
}

function activitiesFor(input: ChatRunInput) {
  const model = `${input.model} on ${input.endpoint}`;
  return {
    model,
    closer: proxyActivities<Activities>({ ...dbWrite, summary: 'save the reply and close the run' }),
    background: proxyActivities<Activities>({ ...titleCall, summary: `title from ${model}`, ...(input.backgroundTaskQueue ? { taskQueue: input.backgroundTaskQueue } : {}) }),
  };
}

async function generateTitle(input: ChatRunInput, background: ReturnType<typeof activitiesFor>['background'], replyExcerpt: string | undefined) {
  try {
    const title = await background.generateTitle(input, replyExcerpt);
    upsertMemo({ title });
  } catch (error) {
    log.warn('title generation failed; keeping "New Chat"', { error: describeFailure(error) });
  }
}

/**
 * The turn as one activity (streamTurn: save the request beside the reply, stream it, close the run, title a
 * new conversation), and finishRun only when that activity did not close the run: it failed, was cancelled,
 * or could not save or close (then finishRun does, with the database retries). RunClosed means an earlier
 * attempt of streamTurn closed the run and its worker died before reporting it: finishRun then only reads
 * the saved reply back. A title streamTurn did not make comes from the background activity, as before.
 */
async function turnInOneActivity(input: ChatRunInput): Promise<ReplyOutcome> {
  const { model, closer, background } = activitiesFor(input);
  const llm = proxyActivities<Activities>({ ...modelCall, summary: `save the request, stream the reply from ${model}, close the run` });
  let outcome: ReplyOutcome;
  let replyExcerpt: string | undefined;
  let title: string | undefined;
  let closed = false;
  try {
    const result = await llm.streamTurn(input);
    outcome = { status: 'completed', finishReason: result.finishReason };
    closed = result.closed;
    replyExcerpt = result.replyExcerpt;
    title = result.title;
  } catch (error) {
    const cause = activityCause(error);
    if (isCancellation(error)) outcome = { status: 'aborted' };
    else if (cause instanceof ApplicationFailure && cause.type === 'RunClosed') outcome = { status: 'completed' };
    else {
      outcome = { status: 'error', errorMessage: describeFailure(error) };
      log.warn('reply failed', { streamId: input.streamId, error: outcome.errorMessage });
    }
  }
  await CancellationScope.nonCancellable(async () => {
    if (!closed) replyExcerpt = (await closer.finishRun(input, outcome, { requestSaved: false }))?.replyExcerpt;
    if (outcome.status !== 'completed' || !input.generateTitle) return;
    if (title !== undefined) upsertMemo({ title });
    else await generateTitle(input, background, replyExcerpt);
  });
  return outcome;
}

/** The turn as it ran before turn-in-one-activity (kept so that histories of runs started then replay). */
async function turnInThreeActivities(input: ChatRunInput): Promise<ReplyOutcome> {
  const { model, closer, background } = activitiesFor(input);
  const db = proxyActivities<Activities>({ ...dbWrite, summary: 'save the request' });
  const llm = proxyActivities<Activities>({ ...modelCall, summary: `stream the reply from ${model}` });

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
