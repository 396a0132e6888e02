import { Context } from '@temporalio/activity';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import { closeRun, saveRequestDocuments } from '../../shared/close-run.ts';
import type { ChatActivityDependencies } from '../dependencies.ts';
import { createStreamReply } from './stream-reply.ts';

export interface StreamTurnResult {
  finishReason: string;
  /** Whether this activity closed the run; when not, the workflow closes it (finishRun, with its retries). */
  closed: boolean;
  /** The start of the saved reply, for the title (only when closed). */
  replyExcerpt?: string;
}

/**
 * A whole chat turn in one activity: the request is saved beside the reply (never before its first token),
 * the reply streams (stream-reply.ts: retries continue after what was streamed), and the run is closed
 * here when both went well. Three activities per turn (saveRequest, streamReply, finishRun) cost the
 * Temporal server and the worker a schedule, a start, a completion and a workflow task each; one costs a
 * third of that (bench/README.md, "One activity per turn").
 *
 * Nothing is lost on the paths this does not take: if saving the request fails, or closing does, the
 * activity still returns the reply's result with `closed: false` and the workflow's finishRun saves the
 * request (insert-if-absent) and closes the run with its database retries. A failed or cancelled reply
 * throws as streamReply does, after the save has settled, and the workflow closes the run as before.
 */
export function createStreamTurn(deps: ChatActivityDependencies, options: { saveRequest?: typeof saveRequestDocuments } = {}) {
  const streamReply = createStreamReply(deps);
  const saveRequest = options.saveRequest ?? saveRequestDocuments;
  const countTokens = (texts: string[]) => deps.countTokens(texts);

  return async function streamTurn(input: ChatRunInput): Promise<StreamTurnResult> {
    const context = Context.current();
    const saving = saveRequest(input, countTokens).then(
      () => undefined,
      (error: Error) => error,
    );
    let finishReason: string;
    try {
      ({ finishReason } = await streamReply(input));
    } finally {
      // Settled before the activity ends either way, so it never races the workflow's finishRun.
      const saveError = await saving;
      if (saveError) context.log.warn('saving the request failed; finishRun will save it and close the run', { streamId: input.streamId, error: saveError.message });
    }
    if ((await saving) !== undefined) return { finishReason, closed: false };

    // No heartbeat while closing (it would replace the reply's progress details): closing takes milliseconds;
    // one that outlasts the heartbeat timeout is retried, finds the run closed (RunClosed) and the
    // workflow's finishRun completes it, idempotently.
    try {
      const { replyExcerpt } = await closeRun({ ...deps, countTokens }, input, { status: 'completed', finishReason }, { requestSaved: true });
      return { finishReason, closed: true, replyExcerpt };
    } catch (error) {
      context.log.warn('closing the run failed; finishRun will close it', { streamId: input.streamId, error: (error as Error).message });
      return { finishReason, closed: false };
    }
  };
}
