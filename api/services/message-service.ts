import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { Message } from '../../shared/models/index.ts';
import { publicDocument } from '../../shared/public-document.ts';
import type { ConversationService } from './conversation-service.ts';

type LeanMessage = Record<string, unknown> & { messageId: string; content?: Array<Record<string, unknown>> };


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
    async list(userId: string, conversationId: string) {
      await deps.conversations.requireOwned(userId, conversationId);
      const messages = await Message.find({ conversationId, user: userId }).sort({ createdAt: 1 }).lean<LeanMessage[]>();
      return messages.map(publicDocument);
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
      return publicDocument(updated);
    },

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
      return { deletedCount: result.deletedCount };
    },
  };
}
export type MessageService = ReturnType<typeof createMessageService>;
