import { Conversation, Message } from '../../shared/models/index.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import type { SearchConversationDocument, SearchMessageDocument } from './search-engine.ts';

type LeanConversation = { conversationId: string; user: string; title?: string; tags?: string[]; updatedAt?: Date };
type LeanMessage = {
  messageId: string;
  conversationId: string;
  user: string;
  sender?: string;
  text?: string;
  content?: Array<{ type?: string; text?: unknown }>;
  isCreatedByUser?: boolean;
  updatedAt?: Date;
};

/** The fields an index document is made of, and nothing else (a message's files, feedback, content parts stay out). */
export const conversationFields = { conversationId: 1, user: 1, title: 1, tags: 1, updatedAt: 1, _id: 0 } as const;
export const messageFields = { messageId: 1, conversationId: 1, user: 1, sender: 1, text: 1, content: 1, isCreatedByUser: 1, updatedAt: 1, _id: 0 } as const;

const isoTime = (value: Date | undefined) => (value ? new Date(value).toISOString() : new Date(0).toISOString());

export function conversationDocument(conversation: LeanConversation): SearchConversationDocument {
  return {
    conversationId: conversation.conversationId,
    user: conversation.user,
    title: conversation.title ?? 'New Chat',
    tags: conversation.tags ?? [],
    updatedAt: isoTime(conversation.updatedAt),
  };
}

/**
 * `text` as saved, or, when a message has only content parts (an agent's reply made of steps), its text
 * parts joined, as LibreChat's index flattens `content` into `text`.
 */
export function messageDocument(message: LeanMessage): SearchMessageDocument {
  const fromContent = (message.content ?? [])
    .filter((part) => part?.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text as string)
    .join('\n');
  return {
    messageId: message.messageId,
    conversationId: message.conversationId,
    user: message.user,
    sender: message.sender ?? (message.isCreatedByUser ? 'User' : 'Assistant'),
    text: message.text || fromContent,
    isCreatedByUser: Boolean(message.isCreatedByUser),
    updatedAt: isoTime(message.updatedAt),
  };
}

/**
 * The documents as the database holds them now, by id (the engines' primary keys are the ids alone, as
 * LibreChat's indexes are). The database's unique keys also hold the user, so two users could hold the
 * same id (a client-chosen messageId): then the first user in order is indexed, deterministically, so
 * every replay picks the same one; search results are filtered by user, so nobody sees the other's.
 */
function byId<T extends { user: string }>(documents: T[], idOf: (document: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const document of documents) {
    const existing = map.get(idOf(document));
    if (!existing || document.user < existing.user) map.set(idOf(document), document);
  }
  return map;
}

/** Read by id (shared/find-each-id.ts): `$in` made every drain read the whole collection on FerretDB. */
export async function currentConversations(ids: string[]): Promise<Map<string, SearchConversationDocument>> {
  if (ids.length === 0) return new Map();
  const found = await findEachId(ids, (conversationId) => Conversation.find({ conversationId }, conversationFields).lean<LeanConversation[]>());
  return new Map([...byId(found, (document) => document.conversationId)].map(([id, document]) => [id, conversationDocument(document)]));
}

export async function currentMessages(ids: string[]): Promise<Map<string, SearchMessageDocument>> {
  if (ids.length === 0) return new Map();
  const found = await findEachId(ids, (messageId) => Message.find({ messageId }, messageFields).lean<LeanMessage[]>());
  return new Map([...byId(found, (document) => document.messageId)].map(([id, document]) => [id, messageDocument(document)]));
}
