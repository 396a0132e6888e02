import type { ChatRunInput, ReplyOutcome } from '../shared/chat-run.ts';
import { CLOSED_FENCE, appendEntry, readAllEntries, streamedText } from '../shared/chat-stream.ts';
import { Conversation, Message } from '../shared/models/index.ts';
import { publicDocument } from '../shared/public-document.ts';
import type { ActivityDependencies } from './dependencies.ts';

/**
 * Last step of every run, whatever happened: saves the reply as clients saw it, tells them (final or
 * error event), and releases the run. The saved text is rebuilt from the stream itself, so saved and
 * streamed text cannot differ; the fence is closed first so nothing can be appended after it.
 * Idempotent: a retry that finds the final event already written only re-saves the same documents.
 */
export function createFinishRun(deps: ActivityDependencies) {
  return async function finishRun(input: ChatRunInput, outcome: ReplyOutcome): Promise<void> {
    const streamKey = deps.keys.chatStream(input.streamId);
    await deps.redis.set(deps.keys.streamWriterFence(input.streamId), CLOSED_FENCE, 'EX', deps.streamTtlSeconds * 2);
    const entries = await readAllEntries(deps.redis, streamKey);
    const replyText = (input.continuedText ?? '') + streamedText(entries);
    const failed = outcome.status === 'error';
    const text = failed && !replyText ? (outcome.errorMessage ?? 'Something went wrong.') : replyText;

    const requestMessage = await Message.findOne({ messageId: input.responseParentMessageId, user: input.userId }).lean<Record<string, unknown>>();
    const [replyTokens, requestTokens] = await deps.countTokens([text, String(requestMessage?.text ?? '')]);
    if (requestMessage && requestMessage.tokenCount == null) {
      await Message.updateOne({ messageId: input.responseParentMessageId, user: input.userId }, { $set: { tokenCount: requestTokens } });
      requestMessage.tokenCount = requestTokens;
    }
    const responseMessage = await Message.findOneAndUpdate(
      { messageId: input.responseMessageId, user: input.userId },
      {
        $set: {
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
          tokenCount: replyTokens,
        },
      },
      { upsert: true, returnDocument: 'after' },
    ).lean<Record<string, unknown>>();
    const conversation = await Conversation.findOneAndUpdate(
      { conversationId: input.conversationId, user: input.userId },
      { $set: { endpoint: input.endpoint, endpointType: input.endpointType, model: input.model } },
      { returnDocument: 'after' },
    ).lean<Record<string, unknown>>();

    const last = entries.at(-1);
    if (!last?.end) {
      if (failed) {
        await appendEntry(deps.redis, streamKey, deps.streamMaxLength, 'error', { ...publicDocument(responseMessage!), error: true, final: true, text }, true);
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
            responseMessage: publicDocument(responseMessage!),
          },
          true,
        );
      }
    }
    await deps.runs.complete(input, outcome.status);
  };
}
