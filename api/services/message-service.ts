import { decodeCursor, encodeCursor, isDateString } from './keyset-cursor.ts';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { Message } from '../../shared/models/index.ts';
import { publicDocument } from '../../shared/public-document.ts';
import { messageChange, recordSearchChanges } from '../../shared/search-changes.ts';
import type { ConversationService } from './conversation-service.ts';

type LeanMessage = Record<string, unknown> & { messageId: string; createdAt?: Date; content?: Array<Record<string, unknown>> };

/** The most messages `GET /api/messages/:conversationId` returns in one answer. */
export const MESSAGES_PAGE_MAX = 1000;

export interface MessagePageInput {
  limit: number;
  cursor?: string;
  /** `desc`: newest first, the cursor walks to older messages; `asc`: the reverse. */
  direction: 'asc' | 'desc';
}

/** A position in a conversation's (createdAt, messageId) order: a keyset stable under inserts, unlike skip. */
interface MessageCursor {
  createdAt: string;
  messageId: string;
}


export interface Feedback {
  rating: 'thumbsUp' | 'thumbsDown';
  tag?: unknown;
  text?: string;
}

export function createMessageService(deps: { conversations: Pick<ConversationService, 'requireOwned'> }) {
  async function requireOwnedMessage(userId: string, conversationId: string, messageId: string) {
    const message = await Message.findOne({ messageId, conversationId, user: userId }).lean<LeanMessage>();
    if (!message) throw new NotFoundError('Message not found');
    return message;
  }

  return {
    /** One page of a conversation's messages in `direction` order, and the cursor of the next page (null at the end). */
    async page(userId: string, conversationId: string, input: MessagePageInput) {
      await deps.conversations.requireOwned(userId, conversationId);
      const order = input.direction === 'asc' ? 1 : -1;
      const filter: Record<string, unknown> = { conversationId, user: userId };
      if (input.cursor) {
        const cursor = decodeCursor<MessageCursor>(input.cursor, (cursor) => typeof cursor.messageId === 'string' && isDateString(cursor.createdAt));
        const at = new Date(cursor.createdAt);
        const beyond = order === 1 ? '$gt' : '$lt';
        // The range on createdAt keeps the index scan bounded; the $or only settles ties.
        filter.createdAt = { [order === 1 ? '$gte' : '$lte']: at };
        filter.$or = [{ createdAt: { [beyond]: at } }, { messageId: { [beyond]: cursor.messageId } }];
      }
      const found = await Message.find(filter)
        .sort({ createdAt: order, messageId: order })
        .limit(input.limit + 1)
        .lean<LeanMessage[]>();
      const messages = found.slice(0, input.limit);
      const last = messages.at(-1);
      const nextCursor =
        found.length > input.limit && last?.createdAt ? encodeCursor({ createdAt: new Date(last.createdAt).toISOString(), messageId: last.messageId }) : null;
      return { messages: messages.map(publicDocument), nextCursor };
    },

    async get(userId: string, conversationId: string, messageId: string) {
      await deps.conversations.requireOwned(userId, conversationId);
      const message = await Message.findOne({ messageId, conversationId, user: userId }).lean<LeanMessage>();
      return message ? publicDocument(message) : null;
    },

    /** Without `index` the message text is replaced; with it, that text part of `content` (and `text` is rebuilt). */
    async editText(userId: string, conversationId: string, messageId: string, text: string, index?: number) {
      const message = await requireOwnedMessage(userId, conversationId, messageId);
      const changes: Record<string, unknown> = {};
      if (index === undefined) {
        changes.text = text;
        if (message.content?.length === 1 && message.content[0]?.type === 'text') changes.content = [{ type: 'text', text }];
      } else {
        const part = message.content?.[index];
        if (!part || part.type !== 'text') throw new ValidationError('index: the message has no text part at that index');
        const content = message.content!.map((existing, position) => (position === index ? { ...existing, text } : existing));
        changes.content = content;
        changes.text = content.filter((entry) => entry.type === 'text').map((entry) => String(entry.text ?? '')).join('');
      }
      const updated = await Message.findOneAndUpdate({ messageId, conversationId, user: userId }, { $set: changes }, { returnDocument: 'after' }).lean<LeanMessage>();
      if (!updated) throw new NotFoundError('Message not found');
      await recordSearchChanges([messageChange(userId, messageId)]);
      return publicDocument(updated);
    },

    // Feedback is not indexed (shared/models/search-outbox.ts): no change recorded.
    async setFeedback(userId: string, conversationId: string, messageId: string, feedback: Feedback | null) {
      await requireOwnedMessage(userId, conversationId, messageId);
      const update = feedback ? { $set: { feedback } } : { $unset: { feedback: 1 } };
      const updated = await Message.findOneAndUpdate({ messageId, conversationId, user: userId }, update, { returnDocument: 'after' }).lean<LeanMessage>();
      if (!updated) throw new NotFoundError('Message not found');
      return { messageId, conversationId, feedback: updated.feedback };
    },

    async remove(userId: string, conversationId: string, messageId: string) {
      await requireOwnedMessage(userId, conversationId, messageId);
      const result = await Message.deleteOne({ messageId, conversationId, user: userId });
      await recordSearchChanges([messageChange(userId, messageId)]);
      return { deletedCount: result.deletedCount };
    },
  };
}
export type MessageService = ReturnType<typeof createMessageService>;
