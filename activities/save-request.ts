import type { ChatRunInput } from '../shared/chat-run.ts';
import { Conversation, Message } from '../shared/models/index.ts';

/**
 * First step of a run: the conversation and the user's message. Upserts keyed by ids, so a retry after
 * a crash writes nothing twice. The API writes nothing itself, so a run Temporal never accepted leaves
 * no half-saved turn behind.
 */
export function createSaveRequest() {
  return async function saveRequest(input: ChatRunInput): Promise<void> {
    const settings = { endpoint: input.endpoint, endpointType: input.endpointType, model: input.model, ...input.parameters };
    if (input.isNewConversation) {
      await Conversation.updateOne(
        { conversationId: input.conversationId, user: input.userId },
        { $setOnInsert: { conversationId: input.conversationId, user: input.userId, title: 'New Chat', ...settings } },
        { upsert: true },
      );
    } else {
      await Conversation.updateOne({ conversationId: input.conversationId, user: input.userId }, { $set: settings });
    }
    if (input.userMessage) {
      await Message.updateOne(
        { messageId: input.userMessage.messageId, user: input.userId },
        {
          $setOnInsert: {
            messageId: input.userMessage.messageId,
            conversationId: input.conversationId,
            user: input.userId,
            parentMessageId: input.userMessage.parentMessageId,
            sender: 'User',
            text: input.userMessage.text,
            isCreatedByUser: true,
          },
        },
        { upsert: true },
      );
    }
  };
}
