/**
 * The search index behind `/api/convos?search=` and `/api/messages?search=` (issue 12): one interface, two
 * engines (PostgreSQL full-text search, the local default; Meilisearch in production), one shared test
 * suite. Documents are written by the indexing workflows only; the API only queries.
 *
 * Every write is idempotent and carries the document as the database holds it now, so replaying a batch
 * (a retried activity, a worker killed mid-batch, reconciliation) converges to the database's content.
 *
 * What the engines (activities/search/engines/, helper S1) guarantee beyond the types below; no signature changed:
 * - a cursor that is not one the engine gave out is refused with `ValidationError` (shared/errors.ts: a 400);
 * - `limit` is clamped to 1..200; a query without a word (only punctuation, `*`, spaces) finds nothing;
 * - upserts skip a document whose `updatedAt` is older than the indexed one (a replay changes nothing), and
 *   within one batch the newest version of an id wins;
 * - `deleteConversations` also deletes those conversations' messages from the index;
 * - `searchConversations` returns only conversations that are themselves indexed for that user (a match in
 *   the messages of a conversation not (or no longer) indexed is not a hit);
 * - `listDocuments` orders ids by their bytes (PostgreSQL `COLLATE "C"`, MongoDB's order); Meilisearch sorts
 *   ids case-insensitively, the same for durachat's lower-case UUIDs.
 */
export interface SearchConversationDocument {
  conversationId: string;
  user: string;
  title: string;
  tags?: string[];
  /** ISO time of the database's last change (ordering, reconciliation). */
  updatedAt: string;
}

export interface SearchMessageDocument {
  messageId: string;
  conversationId: string;
  user: string;
  sender: string;
  /** The message's text; a message's `content` parts are flattened into it (as LibreChat's index does). */
  text: string;
  isCreatedByUser: boolean;
  updatedAt: string;
}

export interface SearchPage<T> {
  hits: T[];
  /** Opaque: pass back to get the next page; absent when there is none. */
  nextCursor?: string;
}

export interface ConversationHit {
  conversationId: string;
  score: number;
}

export interface MessageHit {
  messageId: string;
  conversationId: string;
  score: number;
}

export interface SearchQuery {
  /** Only this user's documents are ever returned, whatever `text` holds. */
  user: string;
  /** What the user typed; the last word matches as a prefix (search as you type). */
  text: string;
  limit: number;
  cursor?: string;
}

export type SearchDocumentKind = 'conversations' | 'messages';

export interface SearchEngine {
  readonly name: 'postgres' | 'meilisearch';
  /** Creates tables/indexes and applies settings; idempotent, called at start-up by workers and API. */
  prepare(): Promise<void>;
  /** True when the engine answers now (`/api/search/enable`). */
  healthy(): Promise<boolean>;
  upsertConversations(documents: SearchConversationDocument[]): Promise<void>;
  upsertMessages(documents: SearchMessageDocument[]): Promise<void>;
  deleteConversations(conversationIds: string[]): Promise<void>;
  deleteMessages(messageIds: string[]): Promise<void>;
  /** Conversations whose title or messages match, best first. */
  searchConversations(query: SearchQuery): Promise<SearchPage<ConversationHit>>;
  searchMessages(query: SearchQuery): Promise<SearchPage<MessageHit>>;
  /** Indexed ids with their `updatedAt`, in id order after `afterId` (reconciliation walks the index). */
  listDocuments(kind: SearchDocumentKind, afterId: string | undefined, limit: number): Promise<Array<{ id: string; updatedAt: string }>>;
  close(): Promise<void>;
}
