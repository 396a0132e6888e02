import { Context } from '@temporalio/activity';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import { closeRun, saveRequestDocuments } from '../../shared/close-run.ts';
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
const TITLE_HEARTBEAT_MS = 1000;

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
export function createStreamTurn(deps: ChatActivityDependencies, options: { saveRequest?: typeof saveRequestDocuments; title?: typeof titleConversation } = {}) {
  const saveRequest = options.saveRequest ?? saveRequestDocuments;
  const title = options.title ?? titleConversation;
  const countTokens = (texts: string[]) => deps.countTokens(texts);

  /**
   * The title right after the close, in this activity: as its own activity it cost two more workflow tasks
   * and an activity round trip at the very moment the user's next message starts (a reply sent right after
   * a new conversation's first one lost ~25 ms of time to first token to them; bench/README.md). Heartbeats
   * carry no progress now: the run is closed, so a retry finds it closed whatever it says. Failures and a
   * slow title are left to the workflow, which falls back to the background activity.
   */
  async function titleInTurn(input: ChatRunInput, replyExcerpt: string): Promise<string | undefined> {
    const context = Context.current();
    const heartbeat = setInterval(() => context.heartbeat(), TITLE_HEARTBEAT_MS);
    try {
      return await title(deps, input, replyExcerpt, AbortSignal.any([context.cancellationSignal, AbortSignal.timeout(TITLE_IN_TURN_TIMEOUT_MS)]));
    } catch (error) {
      context.log.warn('title generation failed in the turn; the workflow retries it in the background', { streamId: input.streamId, error: (error as Error).message });
      return undefined;
    } finally {
      clearInterval(heartbeat);
    }
  }

  return async function streamTurn(input: ChatRunInput): Promise<StreamTurnResult> {
    const context = Context.current();
    // Saved once the first chunk is on its way to the client: started beside the provider call, the save's
    // database and tokenizer work delayed the first token by ~15 ms (bench/README.md). Started at the end
    // when no chunk ever came (a refused or failed call).
    let saving: Promise<Error | undefined> | undefined;
    const startSaving = () =>
      (saving ??= saveRequest(input, countTokens).then(
        () => undefined,
        (error: Error) => error,
      ));
    let finishReason: string;
    try {
      ({ finishReason } = await streamReplyWith(deps, input, { afterFirstChunk: startSaving }));
    } finally {
      // Settled before the activity ends either way, so it never races the workflow's finishRun.
      const saveError = await startSaving();
      if (saveError) context.log.warn('saving the request failed; finishRun will save it and close the run', { streamId: input.streamId, error: saveError.message });
    }
    if ((await startSaving()) !== undefined) return { finishReason, closed: false };

    // No heartbeat while closing (it would replace the reply's progress details): closing takes milliseconds;
    // one that outlasts the heartbeat timeout is retried, finds the run closed (RunClosed) and the
    // workflow's finishRun completes it, idempotently.
    try {
      const { replyExcerpt } = await closeRun({ ...deps, countTokens }, input, { status: 'completed', finishReason }, { requestSaved: true });
      const titled = input.generateTitle ? await titleInTurn(input, replyExcerpt) : undefined;
      return { finishReason, closed: true, replyExcerpt, ...(titled !== undefined ? { title: titled } : {}) };
    } catch (error) {
      context.log.warn('closing the run failed; finishRun will close it', { streamId: input.streamId, error: (error as Error).message });
      return { finishReason, closed: false };
    }
  };
}
