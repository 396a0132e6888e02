import { Context } from '@temporalio/activity';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import { closeRun, saveRequestDocuments, turnChanges } from '../../shared/close-run.ts';
import { recordSearchChanges } from '../../shared/search-changes.ts';
import type { ChatActivityDependencies } from '../dependencies.ts';
import { titleConversation } from './generate-title.ts';
import { streamReplyWith } from './stream-reply.ts';

export interface StreamTurnResult {
  finishReason: string;
  /** Whether this activity closed the run; when not, the workflow closes it (finishRun, with its retries). */
  closed: boolean;
  /** The start of the saved reply, for the title (only when closed). */
  replyExcerpt?: string;
  /** The new conversation's title, when it was generated here; otherwise the workflow's background activity makes it. */
  title?: string;
}

/** A title that takes longer is left to the workflow's background activity (its own timeout and retries). */
const TITLE_IN_TURN_TIMEOUT_MS = 10_000;

/**
 * A whole chat turn in one activity: the reply streams (stream-reply.ts: retries continue after what was
 * streamed), the request is saved once the first chunk is out, and the run is closed and a new conversation
 * titled here when all went well. Three activities per turn (saveRequest, streamReply, finishRun) and the
 * title's own cost the Temporal server and the worker a schedule, a start, a completion and a workflow task
 * each, and the title's workflow tasks met the user's next message (bench/README.md, "One activity per turn").
 *
 * Saving, closing and titling run while the reply's heartbeat goes on, its details marked `ended`: a retry
 * after the reply streamed whole (this work outlasting the heartbeat timeout, or the worker dying) calls no
 * model, it only saves and closes. Nothing is lost on the paths this does not take: if saving the request
 * fails, or closing does, the activity returns `closed: false` and the workflow's finishRun saves the request
 * (insert-if-absent) and closes the run with its database retries. A failed or cancelled reply throws as
 * streamReply does, after the save has settled, and the workflow closes the run as before.
 */
export function createStreamTurn(deps: ChatActivityDependencies, options: { saveRequest?: typeof saveRequestDocuments; title?: typeof titleConversation } = {}) {
  const saveRequest = options.saveRequest ?? saveRequestDocuments;
  const title = options.title ?? titleConversation;
  const countTokens = (texts: string[]) => deps.countTokens(texts);

  /** A failed or slow title is the workflow's to retry in the background: logged, not thrown. */
  async function titleInTurn(input: ChatRunInput, replyExcerpt: string): Promise<string | undefined> {
    const context = Context.current();
    try {
      return await title(deps, input, replyExcerpt, AbortSignal.any([context.cancellationSignal, AbortSignal.timeout(TITLE_IN_TURN_TIMEOUT_MS)]), { recordSearchChanges: false });
    } catch (error) {
      context.log.warn('title generation failed in the turn; the workflow retries it in the background', { streamId: input.streamId, error: (error as Error).message });
      return undefined;
    }
  }

  return async function streamTurn(input: ChatRunInput): Promise<StreamTurnResult> {
    const context = Context.current();
    // Saved once the first chunk is on its way to the client: started beside the provider call, the save's
    // database and tokenizer work delayed the first token. Started at the end when no chunk ever came.
    // Resolves to the failure, if any (logged once, here).
    let saving: Promise<Error | undefined> | undefined;
    const startSaving = () =>
      // Its search changes are recorded with the reply's when the run closes (close-run.ts, turnChanges).
      (saving ??= saveRequest(input, countTokens, { recordSearchChanges: false }).then(
        () => undefined,
        (error: Error) => {
          context.log.warn('saving the request failed; finishRun will save it and close the run', { streamId: input.streamId, error: error.message });
          return error;
        },
      ));
    try {
      return await streamReplyWith(deps, input, {
        afterFirstChunk: startSaving,
        afterStream: async ({ finishReason }): Promise<StreamTurnResult> => {
          if ((await startSaving()) !== undefined) return { finishReason, closed: false };
          let replyExcerpt: string;
          try {
            // The turn's search changes go in below, after a new conversation's title, as one outbox insert.
            ({ replyExcerpt } = await closeRun({ ...deps, countTokens }, input, { status: 'completed', finishReason }, { requestSaved: true, deferSearchChanges: true }));
          } catch (error) {
            context.log.warn('closing the run failed; finishRun will close it', { streamId: input.streamId, error: (error as Error).message });
            return { finishReason, closed: false };
          }
          const titled = input.generateTitle ? await titleInTurn(input, replyExcerpt) : undefined;
          await recordSearchChanges(turnChanges(input));
          return { finishReason, closed: true, replyExcerpt, ...(titled !== undefined ? { title: titled } : {}) };
        },
      });
    } finally {
      // A failed or cancelled reply: the save settles before the activity ends, so it never races finishRun.
      await startSaving();
    }
  };
}
