import { randomUUID } from 'node:crypto';
import { Conversation, Message, ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';

/** Writes documents the way the chat workflow does, for tests of the read/update routes. */
export async function seedConversation(userId: string, fields: Record<string, unknown> = {}) {
  const conversationId = randomUUID();
  await Conversation.create({ conversationId, user: userId, title: 'Seeded', endpoint: 'demo', model: 'demo-fast', ...fields });
  const userMessageId = randomUUID();
  const replyId = randomUUID();
  await Message.create({ messageId: userMessageId, conversationId, user: userId, parentMessageId: ROOT_PARENT_MESSAGE_ID, sender: 'User', text: 'Hello', isCreatedByUser: true });
  await Message.create({
    messageId: replyId,
    conversationId,
    user: userId,
    parentMessageId: userMessageId,
    sender: 'Demo',
    text: 'Hi there',
    content: [{ type: 'text', text: 'Hi there' }],
    isCreatedByUser: false,
    model: 'demo-fast',
    endpoint: 'demo',
  });
  return { conversationId, userMessageId, replyId };
}
