import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { Conversation, Message, conversationParameterKeys } from '../../shared/models/index.ts';
import { publicDocument } from '../../shared/public-document.ts';
import { conversationChange, messageChange, recordSearchChanges } from '../../shared/search-changes.ts';
import type { ConversationService } from './conversation-service.ts';
import { cloneTree, selectBranch, splitAtTargetLevel, type ForkOption, type TreeMessage } from './message-tree.ts';

/** The conversation settings a copy keeps; ownership, archive state and tags start fresh. */
const copiedConversationKeys = ['endpoint', 'endpointType', 'model', 'agent_id', 'files', ...conversationParameterKeys] as const;
/** The message fields a copy keeps; ids, owner and conversation are the copy's own. */
export const copiedMessageKeys = [
  'sender',
  'text',
  'content',
  'isCreatedByUser',
  'model',
  'endpoint',
  'unfinished',
  'error',
  'finish_reason',
  'tokenCount',
  'feedback',
  'files',
  'attachments',
] as const;
const INSERT_BATCH = 500;

type LeanMessage = TreeMessage & Record<string, unknown>;

function pick(source: Record<string, unknown>, keys: readonly string[]) {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (source[key] !== undefined && source[key] !== null) picked[key] = source[key];
  return picked;
}

export interface NewConversation {
  title: string;
  createdAt: Date;
  /** Conversation settings (endpoint, model, preset fields); anything else is dropped. */
  settings: Record<string, unknown>;
  /** Messages with their old ids and parent links; they get new ids, remapped links, this conversation. */
  messages: TreeMessage[];
}

/**
 * Writes new conversations (fork, duplicate, import) without transactions: messages first, the
 * conversation last, so a half-done write is never a visible conversation with missing messages, and
 * a failure removes what was written.
 */
export async function saveNewConversation(userId: string, input: NewConversation) {
  const conversationId = randomUUID();
  const messages = cloneTree(input.messages, input.createdAt).map((message) => ({
    ...pick(message, copiedMessageKeys),
    messageId: message.messageId,
    parentMessageId: message.parentMessageId,
    conversationId,
    user: userId,
    createdAt: message.createdAt,
    updatedAt: message.createdAt,
  }));
  const latest = messages.reduce((at, message) => (message.createdAt > at ? message.createdAt : at), input.createdAt);
  try {
    for (let start = 0; start < messages.length; start += INSERT_BATCH) {
      await Message.insertMany(messages.slice(start, start + INSERT_BATCH), { timestamps: false });
    }
    await Conversation.insertMany(
      [{ ...pick(input.settings, copiedConversationKeys), conversationId, user: userId, title: input.title, createdAt: input.createdAt, updatedAt: latest }],
      { timestamps: false },
    );
  } catch (error) {
    await Message.deleteMany({ user: userId, conversationId }).catch(() => undefined);
    throw error;
  }
  await recordSearchChanges([conversationChange(userId, conversationId), ...messages.map((message) => messageChange(userId, message.messageId))]);
  return { conversationId, messageCount: messages.length };
}

export function createConversationCopyService(dependencies: { conversations: Pick<ConversationService, 'requireOwned'> }) {
  const { conversations } = dependencies;

  async function ownedMessages(userId: string, conversationId: string) {
    return Message.find({ user: userId, conversationId }).sort({ createdAt: 1, messageId: 1 }).lean<LeanMessage[]>();
  }

  /** `{conversation, messages}` as the client reads a fresh copy. */
  async function readBack(userId: string, conversationId: string) {
    const conversation = await conversations.requireOwned(userId, conversationId);
    const messages = await ownedMessages(userId, conversationId);
    return { conversation: publicDocument(conversation), messages: messages.map(publicDocument) };
  }

  return {
    /** LibreChat's fork: the branch(es) `option` selects up to `messageId`, optionally split at its level. */
    async fork(userId: string, input: { conversationId: string; messageId: string; option: ForkOption; splitAtTarget: boolean; latestMessageId?: string }) {
      const original = await conversations.requireOwned(userId, input.conversationId);
      let messages = await ownedMessages(userId, input.conversationId);
      if (!messages.some((message) => message.messageId === input.messageId)) throw new NotFoundError('Message not found');
      let targetId = input.messageId;
      if (input.splitAtTarget) {
        if (!input.latestMessageId) throw new ValidationError('latestMessageId: is required with splitAtTarget');
        messages = splitAtTargetLevel(messages, input.messageId);
        targetId = input.latestMessageId;
        if (!messages.some((message) => message.messageId === targetId)) throw new NotFoundError('Message not found');
      }
      const selected = selectBranch(messages, targetId, input.option);
      const { conversationId } = await saveNewConversation(userId, {
        title: String(original.title ?? 'New Chat'),
        createdAt: new Date(),
        settings: original,
        messages: selected,
      });
      return readBack(userId, conversationId);
    },

    /** Every message, new ids, parents remapped. */
    async duplicate(userId: string, input: { conversationId: string; title?: string }) {
      const original = await conversations.requireOwned(userId, input.conversationId);
      const messages = await ownedMessages(userId, input.conversationId);
      const { conversationId } = await saveNewConversation(userId, {
        title: input.title ?? String(original.title ?? 'New Chat'),
        createdAt: new Date(),
        settings: original,
        messages,
      });
      return readBack(userId, conversationId);
    },
  };
}
export type ConversationCopyService = ReturnType<typeof createConversationCopyService>;
