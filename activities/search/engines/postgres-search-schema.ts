import pg from 'pg';
import { ConfigError } from '../../../shared/config.ts';

/**
 * The PostgreSQL engine's tables, in a schema of their own (`SEARCH_POSTGRES_SCHEMA`, default
 * `durachat_search`): on the local stack that schema sits in FerretDB's database, which ignores schemas
 * without its metadata table, so the two never see each other's tables.
 *
 * - `conversations(conversation_id, user_id, title, tags_text, updated_at, search_vector)`
 * - `messages(message_id, conversation_id, user_id, sender, text, is_created_by_user, updated_at, search_vector)`
 * - `settings(name, value)`: the text search configuration the vectors were built with.
 *
 * `search_vector` is a generated column (PostgreSQL computes it from the stored text on every write, so it can
 * never disagree with it) with a GIN index, and a `(user_id, updated_at DESC)` btree: a user's newest matches
 * first (see postgres-search-engine.ts, MAX_RANKED_MATCHES). Ids are `COLLATE "C"`: byte order, the same as MongoDB's string
 * order, so reconciliation can walk the index and the database side by side. When SEARCH_LANGUAGE changes,
 * prepare() rebuilds the generated columns (a table rewrite, logged) instead of mixing two configurations.
 */
const { escapeIdentifier, escapeLiteral } = pg;

/** A schema change of a future version bumps this and migrates in prepare(). */
const LAYOUT_VERSION = '1';

export function qualifiedNames(schema: string) {
  const quoted = escapeIdentifier(schema);
  return { schema: quoted, conversations: `${quoted}.conversations`, messages: `${quoted}.messages`, settings: `${quoted}.settings` };
}

function vectorExpressions(language: string) {
  const config = `${escapeLiteral(language)}::regconfig`;
  return {
    // Title weighs A, tags B: a title match ranks above a tag match in ts_rank_cd.
    conversations: `setweight(to_tsvector(${config}, title), 'A') || setweight(to_tsvector(${config}, tags_text), 'B')`,
    messages: `to_tsvector(${config}, text)`,
  };
}

/** The configuration's canonical name, or a readable error naming the ones the server has. */
async function checkLanguage(client: pg.PoolClient, language: string): Promise<string> {
  try {
    const result = await client.query<{ name: string }>('SELECT $1::regconfig::text AS name', [language]);
    return result.rows[0]!.name;
  } catch (error) {
    if ((error as { code?: string }).code !== '42704') throw error;
    const known = await client.query<{ name: string }>('SELECT cfgname AS name FROM pg_ts_config ORDER BY cfgname');
    throw new ConfigError(`Invalid configuration:\n  SEARCH_LANGUAGE: ${language} is not a text search configuration on this PostgreSQL server (it has: ${known.rows.map((row) => row.name).join(', ')})`);
  }
}

/**
 * Creates or updates the schema; idempotent, and safe when an API and a worker start at the same moment (a
 * transaction-scoped advisory lock serialises them). Returns what happened, for the start-up log.
 */
export async function preparePostgresSearchSchema(pool: pg.Pool, options: { schema: string; language: string }): Promise<{ created: boolean; rebuiltFrom?: string }> {
  const names = qualifiedNames(options.schema);
  const client = await pool.connect();
  try {
    const language = await checkLanguage(client, options.language);
    const vectors = vectorExpressions(language);
    await client.query('BEGIN');
    // A rebuild rewrites both tables: allow it far longer than an ordinary statement.
    await client.query("SET LOCAL statement_timeout = '600s'");
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`durachat-search-prepare:${options.schema}`]);
    const existing = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [options.schema]);
    // Only created when missing: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database, which a role
    // given a ready-made schema may lack.
    if (existing.rowCount === 0) await client.query(`CREATE SCHEMA ${names.schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${names.settings} (name text PRIMARY KEY, value text NOT NULL)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${names.conversations} (
      conversation_id text COLLATE "C" PRIMARY KEY,
      user_id text NOT NULL,
      title text NOT NULL,
      tags_text text NOT NULL DEFAULT '',
      updated_at timestamptz NOT NULL,
      search_vector tsvector GENERATED ALWAYS AS (${vectors.conversations}) STORED)`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${names.messages} (
      message_id text COLLATE "C" PRIMARY KEY,
      conversation_id text COLLATE "C" NOT NULL,
      user_id text NOT NULL,
      sender text NOT NULL,
      text text NOT NULL,
      is_created_by_user boolean NOT NULL,
      updated_at timestamptz NOT NULL,
      search_vector tsvector GENERATED ALWAYS AS (${vectors.messages}) STORED)`);
    const settings = await client.query<{ name: string; value: string }>(`SELECT name, value FROM ${names.settings}`);
    const previous = settings.rows.find((row) => row.name === 'language')?.value;
    if (previous !== undefined && previous !== language) {
      for (const table of ['conversations', 'messages'] as const) {
        await client.query(`ALTER TABLE ${names[table]} DROP COLUMN search_vector`);
        await client.query(`ALTER TABLE ${names[table]} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (${vectors[table]}) STORED`);
      }
    }
    await client.query(`CREATE INDEX IF NOT EXISTS conversations_search_vector ON ${names.conversations} USING gin (search_vector)`);
    await client.query(`CREATE INDEX IF NOT EXISTS messages_search_vector ON ${names.messages} USING gin (search_vector)`);
    // A user's documents newest first: queries rank only the newest matches (postgres-search-engine.ts,
    // MAX_RANKED_MATCHES), and a user's rows are found without the whole table's posting list of a common word.
    await client.query(`CREATE INDEX IF NOT EXISTS conversations_user_updated ON ${names.conversations} (user_id, updated_at DESC)`);
    await client.query(`CREATE INDEX IF NOT EXISTS messages_user_updated ON ${names.messages} (user_id, updated_at DESC)`);
    // Deleting a conversation deletes its messages from the index.
    await client.query(`CREATE INDEX IF NOT EXISTS messages_conversation_id ON ${names.messages} (conversation_id)`);
    await client.query(
      `INSERT INTO ${names.settings} (name, value) VALUES ('language', $1), ('layout', $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
      [language, LAYOUT_VERSION],
    );
    await client.query('COMMIT');
    return { created: existing.rowCount === 0, ...(previous !== undefined && previous !== language ? { rebuiltFrom: previous } : {}) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
