import { conversationSettings, type ChatRunInput } from '../../shared/chat-run.ts';
import { insertIfAbsent } from '../../shared/insert-if-absent.ts';
import { Conversation, Message } from '../../shared/models/index.ts';
import type { ActivityDependencies } from '../dependencies.ts';

/**
 * First step of a run: a new conversation and the user's message, inserted with their ids as unique
 * keys, so a retry after a crash writes nothing twice. An existing conversation's settings are
 * updated by finishRun, in its one update. The API writes nothing itself, so a run Temporal never
 * accepted leaves no half-saved turn behind.
 */
export function createSaveRequest(deps: Pick<ActivityDependencies, 'countTokens'>) {
  return async function saveRequest(input: ChatRunInput): Promise<void> {
    if (input.isNewConversation) {
      await insertIfAbsent(Conversation, {
        conversationId: input.conversationId,
        user: input.userId,
        title: 'New Chat',
        ...conversationSettings(input),
      });
    }
    if (input.userMessage) {
      const [tokenCount] = await deps.countTokens([input.userMessage.text]);
      await insertIfAbsent(Message, {
        messageId: input.userMessage.messageId,
        conversationId: input.conversationId,
        user: input.userId,
        parentMessageId: input.userMessage.parentMessageId,
        sender: 'User',
        text: input.userMessage.text,
        isCreatedByUser: true,
        tokenCount,
      });
    }
  };
}
