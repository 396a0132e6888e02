import { conversationSettings, type ChatRunInput, type ReplyOutcome } from '../../shared/chat-run.ts';
import { CLOSED_FENCE, appendEntry, readAllEntries, streamedText } from '../../shared/chat-stream.ts';
import { insertIfAbsent } from '../../shared/insert-if-absent.ts';
import { Conversation, Message } from '../../shared/models/index.ts';
import { publicDocument } from '../../shared/public-document.ts';
import type { ActivityDependencies } from '../dependencies.ts';

/**
 * Last step of every run, whatever happened: saves the reply as clients saw it, tells them (final or
 * error event), and releases the run. The saved text is rebuilt from the stream itself, so saved and
 * streamed text cannot differ; the fence is closed first so nothing can be appended after it.
 * Idempotent: a retry that finds the final event already written only re-saves the same documents.
 */
const TITLE_EXCERPT_CHARS = 2000;

export function createFinishRun(deps: ActivityDependencies) {
  return async function finishRun(input: ChatRunInput, outcome: ReplyOutcome): Promise<{ replyExcerpt: string }> {
    const streamKey = deps.keys.chatStream(input.streamId);
    await deps.redis.set(deps.keys.streamWriterFence(input.streamId), CLOSED_FENCE, 'EX', deps.streamTtlSeconds * 2);
    const entries = await readAllEntries(deps.redis, streamKey);
    const replyText = (input.continuedText ?? '') + streamedText(entries);
    const failed = outcome.status === 'error';
    const text = failed && !replyText ? (outcome.errorMessage ?? 'Something went wrong.') : replyText;

    const [tokenCount] = await deps.countTokens([text]);
    const reply = {
      messageId: input.responseMessageId,
      user: input.userId,
      conversationId: input.conversationId,
      parentMessageId: input.responseParentMessageId,
      sender: input.sender,
      text,
      content: [{ type: 'text', text }],
      isCreatedByUser: false,
      model: input.model,
      endpoint: input.endpoint,
      unfinished: outcome.status === 'aborted',
      error: failed,
      finish_reason: outcome.status === 'aborted' ? 'abort' : failed ? 'error' : (outcome.finishReason ?? 'stop'),
      tokenCount,
    };
    // A new reply is inserted (a retry finds it already there, with the same text: the stream is
    // closed); a continued reply already exists and is updated.
    let responseMessage: Record<string, unknown> = reply;
    if (input.continuedText !== undefined || !(await insertIfAbsent(Message, reply))) {
      const { messageId: _messageId, user: _user, ...changes } = reply;
      responseMessage = (await Message.findOneAndUpdate({ messageId: input.responseMessageId, user: input.userId }, { $set: changes }, { returnDocument: 'after' }).lean<Record<string, unknown>>()) ?? reply;
    }
    const requestMessage = input.userMessage
      ? { messageId: input.userMessage.messageId, parentMessageId: input.userMessage.parentMessageId, conversationId: input.conversationId, sender: 'User', text: input.userMessage.text, isCreatedByUser: true }
      : await Message.findOne({ messageId: input.responseParentMessageId, user: input.userId }).lean<Record<string, unknown>>();
    // An existing conversation gets its one update per run: settings, and updatedAt (the list's order).
    // A new one was just inserted with exactly these settings, so it needs none.
    const conversation = input.isNewConversation
      ? { conversationId: input.conversationId, user: input.userId, title: 'New Chat', ...conversationSettings(input) }
      : await Conversation.findOneAndUpdate(
          { conversationId: input.conversationId, user: input.userId },
          { $set: conversationSettings(input) },
          { returnDocument: 'after' },
        ).lean<Record<string, unknown>>();

    const last = entries.at(-1);
    if (!last?.end) {
      if (failed) {
        await appendEntry(deps.redis, streamKey, deps.streamMaxLength, 'error', { ...publicDocument(responseMessage), error: true, final: true, text }, true);
      } else {
        await appendEntry(
          deps.redis,
          streamKey,
          deps.streamMaxLength,
          'message',
          {
            final: true,
            ...(outcome.status === 'aborted' ? { aborted: true } : {}),
            conversation: conversation ? publicDocument(conversation) : { conversationId: input.conversationId },
            title: conversation?.title ?? 'New Chat',
            requestMessage: requestMessage ? publicDocument(requestMessage) : undefined,
            responseMessage: publicDocument(responseMessage),
          },
          true,
        );
      }
    }
    await deps.runs.complete(input, outcome.status);
    // For the title: the start of the reply, so generateTitle needs no database read.
    return { replyExcerpt: text.slice(0, TITLE_EXCERPT_CHARS) };
  };
}
