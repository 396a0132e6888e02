import pg from 'pg';
import type { ConversationHit, MessageHit, SearchConversationDocument, SearchEngine, SearchMessageDocument, SearchPage, SearchQuery } from '../search-engine.ts';
import { preparePostgresSearchSchema, qualifiedNames } from './postgres-search-schema.ts';
import {
  clampLimit,
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
 * PostgreSQL full-text search (the local stack's engine; tables in postgres-search-schema.ts).
 *
 * Queries: the user's text is cut into words (search-text.ts `queryWords`: no quote, backslash or operator
 * survives), each word goes through `to_tsquery` as one quoted operand (so it is normalised by the same
 * configuration as the documents), the last with `:*` (prefix: search as you type), joined with AND. Words,
 * user id, language and cursor are bound parameters; only the schema name (checked against a plain
 * identifier pattern) is part of the SQL text. Every query has `user_id = $1` in its WHERE.
 *
 * Ranking: `ts_rank_cd(vector, query, 32)` (cover density, scaled into [0, 1)); a conversation scores by
 * search-text.ts `conversationScore` (title match and best message match). Cursor: the last hit's (score,
 * id), base64url JSON; the next page continues strictly after it in (score desc, id asc) order, so pages
 * never repeat a hit while the index does not change.
 *
 * Only the user's `MAX_RANKED_MATCHES` newest matching messages (and as many newest matching titles) are
 * ranked; older matches beyond them are not found. Decided from bench/README.md ("Search"): ranking every
 * match of a common word or a short prefix costs one tsvector read and rank per match (56,000 matches of
 * "the" for a user with 60,000 messages: ~380 ms a query on the 2-core machine), while the newest 1,000,
 * read newest first through the (user_id, updated_at) index, cost ~10 ms. Meilisearch's default
 * `maxTotalHits` is the same 1,000, so both engines page through at most that many hits; a rarer query (the
 * point of searching) has fewer matches and is ranked whole.
 *
 * Writes: upserts `INSERT … ON CONFLICT DO UPDATE … WHERE stored.updated_at <= new.updated_at` (an older
 * version never overwrites a newer one; a replay of the same version changes nothing), deletes by id.
 */
export interface PostgresSearchEngineOptions {
  url: string;
  schema: string;
  /** A text search configuration (`simple`, `english`, ...), checked by prepare(). */
  language: string;
  /** Connections: search is light and shares a server with FerretDB, so few. */
  poolSize?: number;
  statementTimeoutMs?: number;
  healthTimeoutMs?: number;
  warn?: (message: string, meta?: object) => void;
}

/** How many of a user's newest matches a query ranks (see the header: the cost of common words and short prefixes). */
export const MAX_RANKED_MATCHES = 1_000;

/** Rows per statement, and characters of text per statement: a batch of long messages is split. */
const ROWS_PER_STATEMENT = 500;
const CHARACTERS_PER_STATEMENT = 4_000_000;

interface ScoreCursor {
  score: number;
  id: string;
}
const isScoreCursor = (value: unknown): value is ScoreCursor =>
  typeof value === 'object' && value !== null && typeof (value as ScoreCursor).score === 'number' && Number.isFinite((value as ScoreCursor).score) && typeof (value as ScoreCursor).id === 'string';

/**
 * The tsquery built from `$1` (words) with `$2` (configuration); NULL when no word gives a lexeme. Built in
 * a statement of its own and passed to the search as a constant (`$2::tsquery`): the planner then estimates
 * how many rows match from the column's statistics and picks the GIN index for a rare word but the user's
 * newest rows for a common one (bench/README.md, "Search"). Built inside the search statement, the query
 * was unknown at plan time, and every search went through the GIN index, however many rows matched.
 */
const TSQUERY_SQL = `SELECT (SELECT string_agg('(' || part::text || ')', ' & ')::tsquery
   FROM (SELECT to_tsquery($2::regconfig, '''' || word || '''' || CASE WHEN position = cardinality($1::text[]) THEN ':*' ELSE '' END) AS part
         FROM unnest($1::text[]) WITH ORDINALITY AS words(word, position)) AS parts
   WHERE numnode(part) > 0)::text AS q`;

function chunks<T>(rows: T[], size: (row: T) => number): T[][] {
  const result: T[][] = [];
  let current: T[] = [];
  let characters = 0;
  for (const row of rows) {
    if (current.length > 0 && (current.length >= ROWS_PER_STATEMENT || characters + size(row) > CHARACTERS_PER_STATEMENT)) {
      result.push(current);
      current = [];
      characters = 0;
    }
    current.push(row);
    characters += size(row);
  }
  if (current.length > 0) result.push(current);
  return result;
}

export function createPostgresSearchEngine(options: PostgresSearchEngineOptions): SearchEngine {
  const warn = options.warn ?? ((message: string, meta?: object) => console.warn(`[search] ${message}`, meta ?? ''));
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // The server ends a statement running longer; the client gives up a little later if the server is gone.
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 5_000,
    application_name: 'durachat-search',
    keepAlive: true,
  });
  // An idle connection dropped by the server (restart, outage) must not crash the process; the next query reconnects.
  pool.on('error', (error) => warn('an idle PostgreSQL search connection failed', { error: error.message }));
  const names = qualifiedNames(options.schema);

  async function search<Row extends { score: number; id: string }>(query: SearchQuery, sql: string): Promise<{ rows: Row[]; nextCursor?: string }> {
    const words = queryWords(query.text);
    if (words.length === 0) return { rows: [] };
    const limit = clampLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, isScoreCursor);
    const built = await pool.query<{ q: string | null }>(TSQUERY_SQL, [words, options.language]);
    const tsquery = built.rows[0]?.q;
    if (!tsquery) return { rows: [] };
    const result = await pool.query<Row>(sql, [query.user, tsquery, after?.score ?? null, after?.id ?? null, limit + 1]);
    const rows = result.rows.slice(0, limit);
    const last = rows.at(-1);
    return { rows, ...(result.rows.length > limit && last ? { nextCursor: encodeCursor({ score: last.score, id: last.id } satisfies ScoreCursor) } : {}) };
  }

  return {
    name: 'postgres',

    async prepare() {
      const outcome = await preparePostgresSearchSchema(pool, { schema: options.schema, language: options.language });
      if (outcome.rebuiltFrom) warn(`search vectors rebuilt: SEARCH_LANGUAGE changed from ${outcome.rebuiltFrom} to ${options.language}`);
    },

    async healthy() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), options.healthTimeoutMs ?? 2_000);
      });
      const probe = pool.query('SELECT 1').then(
        () => true,
        () => false,
      );
      try {
        return await Promise.race([probe, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },

    async upsertConversations(documents: SearchConversationDocument[]) {
      const rows = newestById(documents, (document) => document.conversationId).map((document) => ({
        conversation_id: indexableText(document.conversationId, Number.MAX_SAFE_INTEGER),
        user_id: indexableText(document.user, Number.MAX_SAFE_INTEGER),
        title: indexableText(document.title ?? '', MAX_INDEXED_TITLE_CHARACTERS),
        tags_text: indexableText((document.tags ?? []).join(' '), MAX_INDEXED_TAGS_CHARACTERS),
        updated_at: normalizedTime(document.updatedAt, `conversation ${document.conversationId}`),
      }));
      for (const chunk of chunks(rows, (row) => row.title.length + row.tags_text.length)) {
        await pool.query(
          `INSERT INTO ${names.conversations} AS stored (conversation_id, user_id, title, tags_text, updated_at)
           SELECT conversation_id, user_id, title, tags_text, updated_at
           FROM jsonb_to_recordset($1::jsonb) AS incoming(conversation_id text, user_id text, title text, tags_text text, updated_at timestamptz)
           ON CONFLICT (conversation_id) DO UPDATE
             SET user_id = EXCLUDED.user_id, title = EXCLUDED.title, tags_text = EXCLUDED.tags_text, updated_at = EXCLUDED.updated_at
             WHERE stored.updated_at < EXCLUDED.updated_at
                OR (stored.updated_at = EXCLUDED.updated_at AND (stored.user_id, stored.title, stored.tags_text) IS DISTINCT FROM (EXCLUDED.user_id, EXCLUDED.title, EXCLUDED.tags_text))`,
          [JSON.stringify(chunk)],
        );
      }
    },

    async upsertMessages(documents: SearchMessageDocument[]) {
      const rows = newestById(documents, (document) => document.messageId).map((document) => ({
        message_id: indexableText(document.messageId, Number.MAX_SAFE_INTEGER),
        conversation_id: indexableText(document.conversationId, Number.MAX_SAFE_INTEGER),
        user_id: indexableText(document.user, Number.MAX_SAFE_INTEGER),
        sender: indexableText(document.sender ?? '', MAX_INDEXED_TITLE_CHARACTERS),
        text: indexableText(document.text ?? '', MAX_INDEXED_TEXT_CHARACTERS),
        is_created_by_user: Boolean(document.isCreatedByUser),
        updated_at: normalizedTime(document.updatedAt, `message ${document.messageId}`),
      }));
      for (const chunk of chunks(rows, (row) => row.text.length)) {
        await pool.query(
          `INSERT INTO ${names.messages} AS stored (message_id, conversation_id, user_id, sender, text, is_created_by_user, updated_at)
           SELECT message_id, conversation_id, user_id, sender, text, is_created_by_user, updated_at
           FROM jsonb_to_recordset($1::jsonb)
             AS incoming(message_id text, conversation_id text, user_id text, sender text, text text, is_created_by_user boolean, updated_at timestamptz)
           ON CONFLICT (message_id) DO UPDATE
             SET conversation_id = EXCLUDED.conversation_id, user_id = EXCLUDED.user_id, sender = EXCLUDED.sender, text = EXCLUDED.text,
                 is_created_by_user = EXCLUDED.is_created_by_user, updated_at = EXCLUDED.updated_at
             WHERE stored.updated_at < EXCLUDED.updated_at
                OR (stored.updated_at = EXCLUDED.updated_at
                    AND (stored.conversation_id, stored.user_id, stored.sender, stored.text, stored.is_created_by_user)
                        IS DISTINCT FROM (EXCLUDED.conversation_id, EXCLUDED.user_id, EXCLUDED.sender, EXCLUDED.text, EXCLUDED.is_created_by_user))`,
          [JSON.stringify(chunk)],
        );
      }
    },

    async deleteConversations(conversationIds: string[]) {
      if (conversationIds.length === 0) return;
      // The conversation's messages go with it, as they do from the database.
      await pool.query(
        `WITH conversations AS (DELETE FROM ${names.conversations} WHERE conversation_id = ANY($1::text[]))
         DELETE FROM ${names.messages} WHERE conversation_id = ANY($1::text[])`,
        [conversationIds],
      );
    },

    async deleteMessages(messageIds: string[]) {
      if (messageIds.length === 0) return;
      await pool.query(`DELETE FROM ${names.messages} WHERE message_id = ANY($1::text[])`, [messageIds]);
    },

    async searchConversations(query: SearchQuery): Promise<SearchPage<ConversationHit>> {
      const { rows, nextCursor } = await search<{ id: string; score: number }>(
        query,
        `WITH title_candidates AS (
           SELECT c.conversation_id, c.search_vector
           FROM ${names.conversations} c
           WHERE c.user_id = $1 AND c.search_vector @@ $2::tsquery
           ORDER BY c.updated_at DESC
           LIMIT ${MAX_RANKED_MATCHES}),
         title_hits AS (
           SELECT t.conversation_id, 1 + ts_rank_cd(t.search_vector, $2::tsquery, 32)::float8 AS score
           FROM title_candidates t),
         message_candidates AS (
           SELECT m.conversation_id, m.search_vector
           FROM ${names.messages} m
           WHERE m.user_id = $1 AND m.search_vector @@ $2::tsquery
           ORDER BY m.updated_at DESC
           LIMIT ${MAX_RANKED_MATCHES}),
         message_hits AS (
           SELECT m.conversation_id, 1 + max(ts_rank_cd(m.search_vector, $2::tsquery, 32))::float8 AS score
           FROM message_candidates m
           GROUP BY m.conversation_id),
         ranked AS (
           SELECT hits.conversation_id AS id, sum(hits.score) AS score
           FROM (SELECT * FROM title_hits UNION ALL SELECT * FROM message_hits) hits
           JOIN ${names.conversations} c ON c.conversation_id = hits.conversation_id
           WHERE c.user_id = $1
           GROUP BY hits.conversation_id)
         SELECT id, score FROM ranked
         WHERE $3::float8 IS NULL OR score < $3::float8 OR (score = $3::float8 AND id > $4::text)
         ORDER BY score DESC, id
         LIMIT $5`,
      );
      return { hits: rows.map((row) => ({ conversationId: row.id, score: row.score })), ...(nextCursor ? { nextCursor } : {}) };
    },

    async searchMessages(query: SearchQuery): Promise<SearchPage<MessageHit>> {
      const { rows, nextCursor } = await search<{ id: string; conversation_id: string; score: number }>(
        query,
        `WITH candidates AS (
           SELECT m.message_id, m.conversation_id, m.search_vector
           FROM ${names.messages} m
           WHERE m.user_id = $1 AND m.search_vector @@ $2::tsquery
           ORDER BY m.updated_at DESC
           LIMIT ${MAX_RANKED_MATCHES}),
         ranked AS (
           SELECT m.message_id AS id, m.conversation_id, ts_rank_cd(m.search_vector, $2::tsquery, 32)::float8 AS score
           FROM candidates m)
         SELECT id, conversation_id, score FROM ranked
         WHERE $3::float8 IS NULL OR score < $3::float8 OR (score = $3::float8 AND id > $4::text)
         ORDER BY score DESC, id
         LIMIT $5`,
      );
      return { hits: rows.map((row) => ({ messageId: row.id, conversationId: row.conversation_id, score: row.score })), ...(nextCursor ? { nextCursor } : {}) };
    },

    async listDocuments(kind, afterId, limit) {
      const table = kind === 'conversations' ? names.conversations : names.messages;
      const id = kind === 'conversations' ? 'conversation_id' : 'message_id';
      const bounded = Math.min(10_000, Math.max(1, Math.floor(limit)));
      const result =
        afterId === undefined
          ? await pool.query<{ id: string; updated_at: Date }>(`SELECT ${id} AS id, updated_at FROM ${table} ORDER BY ${id} LIMIT $1`, [bounded])
          : await pool.query<{ id: string; updated_at: Date }>(`SELECT ${id} AS id, updated_at FROM ${table} WHERE ${id} > $1 ORDER BY ${id} LIMIT $2`, [afterId, bounded]);
      return result.rows.map((row) => ({ id: row.id, updatedAt: row.updated_at.toISOString() }));
    },

    async close() {
      await pool.end();
    },
  };
}
