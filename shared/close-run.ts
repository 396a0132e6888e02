import type { Redis } from 'ioredis';
import type { BalanceConfig } from './balance-config.ts';
import { conversationSettings, replyOrigin, type ChatRunInput, type ReplyOutcome } from './chat-run.ts';
import { insertIfAbsent } from './insert-if-absent.ts';
import { Conversation, Message } from './models/index.ts';
import { publicDocument } from './public-document.ts';
import type { RedisKeys } from './redis-keys.ts';
import { foldReply } from './run-content.ts';
import type { RunEvent } from './run-events.ts';
import { chargeRun } from './run-charge.ts';
import { conversationChange, messageChange, recordSearchChanges } from './search-changes.ts';
import type { RunRegistry } from './run-registry.ts';
import { CLOSED_FENCE, appendUnfenced, endsRun, readEvents } from './run-stream.ts';

export interface CloseRunDependencies {
  redis: Redis;
  keys: RedisKeys;
  runs: RunRegistry;
  streamTtlSeconds: number;
  /** Token counts for the saved messages; the API's sweeper has no pool and leaves them unset. */
  countTokens?: (texts: string[]) => Promise<number[]>;
  /** Token accounting; no charge when absent or disabled. */
  balance?: BalanceConfig;
}

const TITLE_EXCERPT_CHARS = 2000;

/**
 * Closes a run, whatever ended it (completed, aborted, failed, or a workflow terminated or timed out in
 * Temporal, which the API's run sweeper notices): saves the reply exactly as clients were shown it,
 * tells them (final or error event), frees the user's slot and lets the stream expire.
 *
 * The fence is closed first, so nothing can be appended once the reply is read back. Idempotent: a second
 * call finds the end event written and changes nothing (it returns the saved reply's start for the title).
 */
export async function closeRun(deps: CloseRunDependencies, input: ChatRunInput, outcome: ReplyOutcome, options: { requestSaved?: boolean; deferSearchChanges?: boolean } = {}): Promise<{ replyExcerpt: string }> {
  const streamKey = deps.keys.chatStream(input.streamId);
  await deps.redis.set(deps.keys.streamWriterFence(input.streamId), CLOSED_FENCE, 'EX', deps.streamTtlSeconds);
  const items = await readEvents(deps.redis, streamKey);
  const last = items.at(-1);
  const events: RunEvent[] = items.map((item) => item.event);
  const folded = foldReply(events, { prefixText: input.continuedText });
  if (endsRun(last)) {
    // Closed before (an earlier attempt of the turn, finishRun, or the sweeper): everything up to the end
    // event was done then (it is written last but the search changes), so nothing is saved again; saving
    // again with this call's outcome could only be worse (a retry knows less: a finish reason, an error).
    await recordSearchChanges(turnChanges(input));
    const saved = (last!.event as { responseMessage?: Record<string, unknown> }).responseMessage;
    return { replyExcerpt: String(saved?.text ?? folded.text).slice(0, TITLE_EXCERPT_CHARS) };
  }
  const failed = outcome.status === 'error';
  const isContinuation = input.continuedText !== undefined;
  // A failed continuation keeps the good reply it continued (with whatever was added): only a reply that
  // has nothing to show becomes an error message.
  const errorReply = failed && !folded.text;
  const text = errorReply ? (outcome.errorMessage ?? 'Something went wrong.') : folded.text;
  const content = errorReply ? [{ type: 'text', text }] : folded.content;
  const [tokenCount] = deps.countTokens ? await deps.countTokens([text]) : [undefined];

  const reply = {
    messageId: input.responseMessageId,
    user: input.userId,
    conversationId: input.conversationId,
    parentMessageId: input.responseParentMessageId,
    sender: input.sender,
    text,
    content,
    isCreatedByUser: false,
    ...replyOrigin(input),
    unfinished: outcome.status === 'aborted' || (failed && !errorReply),
    error: errorReply,
    finish_reason: outcome.status === 'aborted' ? 'abort' : failed ? 'error' : (outcome.finishReason ?? 'stop'),
    ...(folded.attachments.length > 0 ? { attachments: folded.attachments } : {}),
    ...(tokenCount !== undefined ? { tokenCount } : {}),
  };

  // Unless saveRequest is known to have succeeded, the request is saved here too (insert-if-absent), so
  // the turn is whole even when saveRequest failed for good or the run was terminated before it ran.
  if (!options.requestSaved) await saveRequestDocuments(input, deps.countTokens, { recordSearchChanges: false });
  let responseMessage: Record<string, unknown> = reply;
  if (isContinuation || !(await insertIfAbsent(Message, reply))) {
    const { messageId: _messageId, user: _user, ...changes } = reply;
    responseMessage = (await Message.findOneAndUpdate({ messageId: input.responseMessageId, user: input.userId }, { $set: changes }, { returnDocument: 'after' }).lean<Record<string, unknown>>()) ?? reply;
  }
  const requestMessage = input.userMessage
    ? { messageId: input.userMessage.messageId, parentMessageId: input.userMessage.parentMessageId, conversationId: input.conversationId, sender: 'User', text: input.userMessage.text, isCreatedByUser: true, ...(input.userMessage.files ? { files: input.userMessage.files } : {}) }
    : await Message.findOne({ messageId: input.responseParentMessageId, user: input.userId }).lean<Record<string, unknown>>();
  // An existing conversation gets its one update per run: settings, and updatedAt (the list's order).
  // A new one was just inserted with exactly these settings, so it needs none.
  // (A new one's timestamps are the run's: within milliseconds of the document's, without reading it back.)
  const conversation = input.isNewConversation
    ? { conversationId: input.conversationId, user: input.userId, title: 'New Chat', ...conversationSettings(input), createdAt: input.runCreatedAt ?? new Date().toISOString(), updatedAt: new Date().toISOString() }
    : await Conversation.findOneAndUpdate({ conversationId: input.conversationId, user: input.userId }, { $set: conversationSettings(input) }, { returnDocument: 'after' }).lean<Record<string, unknown>>();

  // Charged once the reply is saved and before the end event: the client refetches the balance on `final`.
  // Idempotent per run (shared/run-charge.ts), so a retried finishRun or a sweep after it charges nothing more.
  if (deps.balance?.enabled) await chargeRun(deps.balance, input, outcome, events, String(requestMessage?.text ?? ''), deps.countTokens);

  // The run is marked ended before its end event is written: a client that checks the run's status when
  // the end event arrives (LibreChat's newest client does) must already find it inactive.
  await deps.runs.complete(input, outcome.status);
  const seq = (last?.seq ?? 1) + 1;
  if (failed) {
    const message = outcome.errorMessage ?? 'Something went wrong.';
    await appendUnfenced(deps.redis, streamKey, { seq, event: { type: 'error', message, conversationId: input.conversationId, responseMessage: publicDocument(responseMessage) } }, deps.streamTtlSeconds);
  } else {
    await appendUnfenced(
      deps.redis,
      streamKey,
      {
        seq,
        event: {
          type: 'final',
          ...(outcome.status === 'aborted' ? { aborted: true } : {}),
          conversation: conversation ? publicDocument(conversation) : { conversationId: input.conversationId },
          title: (conversation?.title as string | undefined) ?? 'New Chat',
          requestMessage: requestMessage ? publicDocument(requestMessage) : undefined,
          responseMessage: publicDocument(responseMessage),
        },
      },
      deps.streamTtlSeconds,
    );
  }

  // Recorded after the end event, so the reply's last event never waits for the search outbox; a crash
  // before this line is retried by Temporal (closeRun is idempotent) or caught by the reconciliation.
  // `deferSearchChanges`: the caller (streamTurn) records turnChanges itself, after a new conversation's
  // title (one outbox insert for both); a crash before it does retries the turn, whose closeRun records them.
  if (!options.deferSearchChanges) await recordSearchChanges(turnChanges(input));

  // For the title: the start of the reply, so generateTitle needs no database read.
  return { replyExcerpt: text.slice(0, TITLE_EXCERPT_CHARS) };
}

/**
 * What a closed turn changed for the search index: the request, the reply and the conversation, in one
 * outbox insert. The request is recorded here even when saveRequestDocuments recorded it already (an agent
 * run's saveRequest activity does, at the start of a run that may last long): a duplicate entry is drained
 * like any other, and a chat turn leaves it to this one insert (saveRequestDocuments' `recordSearchChanges:
 * false`), one outbox write fewer per turn. Every way a run ends goes through closeRun (the turn, finishRun,
 * the API's sweeper), so the request is never left out.
 */
export function turnChanges(input: ChatRunInput) {
  return [
    ...(input.userMessage ? [messageChange(input.userId, input.userMessage.messageId)] : []),
    messageChange(input.userId, input.responseMessageId),
    conversationChange(input.userId, input.conversationId),
  ];
}

/**
 * A new conversation and the user's message, inserted with their ids as unique keys, so a retry writes
 * nothing twice. An existing conversation's settings are updated when the run closes, in its one update.
 * `recordSearchChanges: false` leaves the search outbox to closeRun (turnChanges), which records them with
 * the reply.
 */
export async function saveRequestDocuments(input: ChatRunInput, countTokens?: (texts: string[]) => Promise<number[]>, options: { recordSearchChanges?: boolean } = {}): Promise<void> {
  if (input.isNewConversation) {
    await insertIfAbsent(Conversation, { conversationId: input.conversationId, user: input.userId, title: 'New Chat', ...conversationSettings(input) });
  }
  if (input.userMessage) {
    const [tokenCount] = countTokens ? await countTokens([input.userMessage.text]) : [undefined];
    await insertIfAbsent(Message, {
      messageId: input.userMessage.messageId,
      conversationId: input.conversationId,
      user: input.userId,
      parentMessageId: input.userMessage.parentMessageId,
      sender: 'User',
      text: input.userMessage.text,
      isCreatedByUser: true,
      // The files attached to it, as LibreChat keeps them on the message (the client shows them on reload).
      ...(input.userMessage.files ? { files: input.userMessage.files } : {}),
      ...(tokenCount !== undefined ? { tokenCount } : {}),
    });
  }
  if (options.recordSearchChanges === false) return;
  await recordSearchChanges([
    ...(input.isNewConversation ? [conversationChange(input.userId, input.conversationId)] : []),
    ...(input.userMessage ? [messageChange(input.userId, input.userMessage.messageId)] : []),
  ]);
}
