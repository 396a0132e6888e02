import { Meilisearch, type EnqueuedTaskPromise, type Index } from 'meilisearch';
import type { ConversationHit, MessageHit, SearchConversationDocument, SearchDocumentKind, SearchEngine, SearchMessageDocument, SearchPage, SearchQuery } from '../search-engine.ts';
import {
  clampLimit,
  conversationScore,
  decodeCursor,
  encodeCursor,
  indexableText,
  MAX_INDEXED_TAGS_CHARACTERS,
  MAX_INDEXED_TEXT_CHARACTERS,
  MAX_INDEXED_TITLE_CHARACTERS,
  newestById,
  normalizedTime,
  queryWords,
} from './search-text.ts';

/**
 * Meilisearch, laid out as LibreChat's (../shared/LIBRECHAT-API.md §5) so an existing LibreChat index can be
 * pointed at: `convos` (primary key `conversationId`; `conversationId, title, user, tags`) and `messages`
 * (`messageId`; `messageId, conversationId, user, sender, text`), `|` in ids stored as `--`. durachat adds
 * `updatedAt` (and `isCreatedByUser` on messages) for ordering and reconciliation.
 *
 * Settings, applied by prepare() and waited for: `filterableAttributes` `user` and `conversationId` (plus the
 * primary key, which reconciliation's walk filters on), the primary key sortable, and only the text fields
 * searchable (LibreChat leaves `*`, which lets a query match ids). Needs Meilisearch 1.16 or later (documents
 * fetched sorted, string comparison filters).
 *
 * Every write waits for its task and throws unless it succeeded, so a batch is indexed when the call returns
 * and a failure is retried by the activity. Meilisearch has no conditional write: an upsert first reads the
 * stored `updatedAt` of its ids and leaves out documents older than the stored ones; two writers racing on
 * the same id between that read and the write can still leave the older one, which reconciliation repairs.
 *
 * Cursors are offsets: Meilisearch returns at most 1,000 hits (`maxTotalHits`) per query, so paging stops there.
 * Conversations are ranked from the best 1,000 title hits and the best 1,000 conversations by message hits.
 */
export interface MeilisearchSearchEngineOptions {
  host: string;
  apiKey: string;
  indexPrefix?: string;
  requestTimeoutMs?: number;
  taskTimeoutMs?: number;
  healthTimeoutMs?: number;
  warn?: (message: string, meta?: object) => void;
}

const MAX_TOTAL_HITS = 1_000;
/** Ids per filter or fetch: keeps filter strings and request bodies small. */
const IDS_PER_REQUEST = 200;
/** A relevance of exactly 1 would tie a one-field match with the weakest two-field match (search-text.ts conversationScore). */
const MAX_RELEVANCE = 0.999_999;

/** LibreChat stores `|` as `--`; Meilisearch primary keys allow only letters, digits, `-` and `_` (511 bytes). */
export const encodeId = (id: string) => id.replaceAll('|', '--');
export const decodeId = (id: string) => id.replaceAll('--', '|');
const validPrimaryKey = /^[A-Za-z0-9_-]{1,511}$/;

/** A filter string value: double-quoted, with `\` and `"` escaped, so an id can never end the string. */
export function filterValue(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

const isOffsetCursor = (value: unknown): value is { offset: number } =>
  typeof value === 'object' && value !== null && Number.isInteger((value as { offset: number }).offset) && (value as { offset: number }).offset >= 0;

function batches<T>(items: T[], size = IDS_PER_REQUEST): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

interface StoredVersion {
  updatedAt?: string;
}

export function createMeilisearchSearchEngine(options: MeilisearchSearchEngineOptions): SearchEngine {
  const warn = options.warn ?? ((message: string, meta?: object) => console.warn(`[search] ${message}`, meta ?? ''));
  const taskTimeoutMs = options.taskTimeoutMs ?? 60_000;
  const client = new Meilisearch({ host: options.host, apiKey: options.apiKey, timeout: options.requestTimeoutMs ?? 15_000 });
  const healthClient = new Meilisearch({ host: options.host, apiKey: options.apiKey, timeout: options.healthTimeoutMs ?? 2_000 });
  const prefix = options.indexPrefix ?? '';
  const indexes = {
    conversations: { uid: `${prefix}convos`, primaryKey: 'conversationId', searchable: ['title', 'tags'], filterable: ['user', 'conversationId'] },
    messages: { uid: `${prefix}messages`, primaryKey: 'messageId', searchable: ['text'], filterable: ['user', 'conversationId', 'messageId'] },
  } as const;
  const convos = client.index(indexes.conversations.uid);
  const messages = client.index(indexes.messages.uid);

  async function settled(task: EnqueuedTaskPromise, what: string): Promise<void> {
    const result = await task.waitTask({ timeout: taskTimeoutMs, interval: 100 });
    if (result.status !== 'succeeded') throw new Error(`Meilisearch ${what}: task ${result.uid} ${result.status}${result.error ? `: ${result.error.message}` : ''}`);
  }

  /** Documents whose id Meilisearch cannot hold are logged and left out (a write with one would fail forever). */
  function withValidIds<T>(documents: T[], idOf: (document: T) => string): T[] {
    return documents.filter((document) => {
      const valid = validPrimaryKey.test(encodeId(idOf(document)));
      if (!valid) warn('document not indexed: Meilisearch ids may hold only letters, digits, -, _ and |', { id: idOf(document) });
      return valid;
    });
  }

  /** Leaves out documents older than the version already indexed. */
  async function newerThanStored<T extends { updatedAt: string }>(index: Index, primaryKey: string, documents: T[], idOf: (document: T) => string): Promise<T[]> {
    const stored = new Map<string, string>();
    for (const ids of batches(documents.map(idOf))) {
      const page = await index.getDocuments<StoredVersion & Record<string, string>>({ filter: `${primaryKey} IN [${ids.map(filterValue).join(', ')}]`, fields: [primaryKey, 'updatedAt'], limit: ids.length });
      for (const document of page.results) if (document.updatedAt) stored.set(document[primaryKey]!, document.updatedAt);
    }
    return documents.filter((document) => {
      const storedAt = stored.get(idOf(document));
      return storedAt === undefined || storedAt <= document.updatedAt;
    });
  }

  async function idsMatching(query: SearchQuery, index: Index, extra: { distinct?: string; fields: string[] }, window: number) {
    const words = queryWords(query.text);
    if (words.length === 0) return [];
    const response = await index.search(words.join(' '), {
      filter: `user = ${filterValue(query.user)}`,
      limit: window,
      offset: 0,
      showRankingScore: true,
      attributesToRetrieve: extra.fields,
      ...(extra.distinct ? { distinct: extra.distinct } : {}),
    });
    return response.hits.map((hit) => ({ hit: hit as Record<string, string>, relevance: Math.min(MAX_RELEVANCE, hit._rankingScore ?? 0) }));
  }

  return {
    name: 'meilisearch',

    async prepare() {
      for (const index of Object.values(indexes)) {
        const created = await client.createIndex(index.uid, { primaryKey: index.primaryKey }).waitTask({ timeout: taskTimeoutMs, interval: 100 });
        if (created.status !== 'succeeded' && created.error?.code !== 'index_already_exists') {
          throw new Error(`Meilisearch: creating index ${index.uid} ${created.status}${created.error ? `: ${created.error.message}` : ''}`);
        }
        await settled(
          client.index(index.uid).updateSettings({ filterableAttributes: [...index.filterable], sortableAttributes: [index.primaryKey], searchableAttributes: [...index.searchable] }),
          `settings of ${index.uid}`,
        );
      }
    },

    async healthy() {
      try {
        return await healthClient.isHealthy();
      } catch {
        return false;
      }
    },

    async upsertConversations(documents: SearchConversationDocument[]) {
      const prepared = withValidIds(newestById(documents, (document) => document.conversationId), (document) => document.conversationId).map((document) => ({
        conversationId: encodeId(document.conversationId),
        title: indexableText(document.title ?? '', MAX_INDEXED_TITLE_CHARACTERS),
        user: document.user,
        tags: (document.tags ?? []).map((tag) => indexableText(tag, MAX_INDEXED_TAGS_CHARACTERS)),
        updatedAt: normalizedTime(document.updatedAt, `conversation ${document.conversationId}`),
      }));
      const fresh = await newerThanStored(convos, 'conversationId', prepared, (document) => document.conversationId);
      if (fresh.length > 0) await settled(convos.addDocuments(fresh), `indexing ${fresh.length} conversations`);
    },

    async upsertMessages(documents: SearchMessageDocument[]) {
      const prepared = withValidIds(newestById(documents, (document) => document.messageId), (document) => document.messageId).map((document) => ({
        messageId: encodeId(document.messageId),
        conversationId: encodeId(document.conversationId),
        user: document.user,
        sender: document.sender,
        text: indexableText(document.text ?? '', MAX_INDEXED_TEXT_CHARACTERS),
        isCreatedByUser: Boolean(document.isCreatedByUser),
        updatedAt: normalizedTime(document.updatedAt, `message ${document.messageId}`),
      }));
      const fresh = await newerThanStored(messages, 'messageId', prepared, (document) => document.messageId);
      if (fresh.length > 0) await settled(messages.addDocuments(fresh), `indexing ${fresh.length} messages`);
    },

    async deleteConversations(conversationIds: string[]) {
      for (const ids of batches(conversationIds.map(encodeId))) {
        await settled(convos.deleteDocuments(ids), `deleting ${ids.length} conversations`);
        // The conversation's messages go with it, as they do from the database.
        await settled(messages.deleteDocuments({ filter: `conversationId IN [${ids.map(filterValue).join(', ')}]` }), `deleting the messages of ${ids.length} conversations`);
      }
    },

    async deleteMessages(messageIds: string[]) {
      for (const ids of batches(messageIds.map(encodeId))) await settled(messages.deleteDocuments(ids), `deleting ${ids.length} messages`);
    },

    async searchConversations(query: SearchQuery): Promise<SearchPage<ConversationHit>> {
      const limit = clampLimit(query.limit);
      const offset = query.cursor === undefined ? 0 : decodeCursor(query.cursor, isOffsetCursor).offset;
      if (offset >= MAX_TOTAL_HITS) return { hits: [] };
      // Always the full window, whatever the page: a window growing with the offset could change a
      // conversation's combined score between pages (its title found only in the larger one) and repeat it.
      const window = MAX_TOTAL_HITS;
      const [titleHits, messageHits] = await Promise.all([
        idsMatching(query, convos, { fields: ['conversationId'] }, window),
        idsMatching(query, messages, { fields: ['conversationId'], distinct: 'conversationId' }, window),
      ]);
      const relevance = new Map<string, { title?: number; message?: number }>();
      for (const { hit, relevance: score } of titleHits) relevance.set(hit.conversationId!, { ...relevance.get(hit.conversationId!), title: score });
      for (const { hit, relevance: score } of messageHits) relevance.set(hit.conversationId!, { ...relevance.get(hit.conversationId!), message: score });
      // A conversation found only through its messages counts only while the user's conversation is indexed.
      const onlyThroughMessages = [...relevance].filter(([, found]) => found.title === undefined).map(([id]) => id);
      const existing = new Set(titleHits.map(({ hit }) => hit.conversationId!));
      for (const ids of batches(onlyThroughMessages)) {
        const page = await convos.getDocuments<{ conversationId: string }>({
          filter: `user = ${filterValue(query.user)} AND conversationId IN [${ids.map(filterValue).join(', ')}]`,
          fields: ['conversationId'],
          limit: ids.length,
        });
        for (const document of page.results) existing.add(document.conversationId);
      }
      const ranked = [...relevance]
        .filter(([id]) => existing.has(id))
        .map(([id, found]) => ({ conversationId: decodeId(id), score: conversationScore(found.title, found.message) }))
        .sort((a, b) => b.score - a.score || (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0));
      const hits = ranked.slice(offset, offset + limit);
      const next = offset + limit;
      return { hits, ...(ranked.length > next && next < MAX_TOTAL_HITS ? { nextCursor: encodeCursor({ offset: next }) } : {}) };
    },

    async searchMessages(query: SearchQuery): Promise<SearchPage<MessageHit>> {
      const limit = clampLimit(query.limit);
      const offset = query.cursor === undefined ? 0 : decodeCursor(query.cursor, isOffsetCursor).offset;
      const words = queryWords(query.text);
      if (words.length === 0 || offset >= MAX_TOTAL_HITS) return { hits: [] };
      const response = await messages.search(words.join(' '), {
        filter: `user = ${filterValue(query.user)}`,
        offset,
        limit: Math.min(limit + 1, MAX_TOTAL_HITS - offset),
        showRankingScore: true,
        attributesToRetrieve: ['messageId', 'conversationId'],
      });
      const found = response.hits.map((hit) => ({ messageId: decodeId(hit.messageId as string), conversationId: decodeId(hit.conversationId as string), score: hit._rankingScore ?? 0 }));
      const hits = found.slice(0, limit);
      return { hits, ...(found.length > limit ? { nextCursor: encodeCursor({ offset: offset + limit }) } : {}) };
    },

    async listDocuments(kind: SearchDocumentKind, afterId: string | undefined, limit: number) {
      const { primaryKey } = indexes[kind];
      const index = kind === 'conversations' ? convos : messages;
      const after = afterId === undefined ? undefined : encodeId(afterId);
      const page = await index.getDocuments<StoredVersion & Record<string, string>>({
        fields: [primaryKey, 'updatedAt'],
        sort: [`${primaryKey}:asc`],
        ...(after === undefined ? {} : { filter: `${primaryKey} > ${filterValue(after)}` }),
        limit: Math.min(1_000, Math.max(1, Math.floor(limit))),
      });
      // Checked again here: Meilisearch compares strings case-insensitively; durachat's ids are lower-case UUIDs.
      return page.results
        .filter((document) => after === undefined || document[primaryKey]! > after)
        .map((document) => ({ id: decodeId(document[primaryKey]!), updatedAt: document.updatedAt ?? new Date(0).toISOString() }));
    },

    async close() {
      // The client holds no connections of its own (fetch).
    },
  };
}
