import { z } from 'zod';
import { ConfigError } from './config.ts';

/**
 * Which search engine serves `/api/convos?search=` and `/api/messages?search=` (issue 12), read from the
 * environment with LibreChat's variable names where LibreChat has them:
 * - `SEARCH=false` turns search off whatever else is set;
 * - `MEILI_HOST` + `MEILI_MASTER_KEY` (both): Meilisearch, indexes `convos` and `messages` as LibreChat's;
 * - else `SEARCH_POSTGRES_URL`: PostgreSQL full-text search in its own schema (`SEARCH_POSTGRES_SCHEMA`);
 * - else disabled: `/api/search/enable` answers false and nothing scans the database instead.
 */

/** A plain lower-case SQL identifier: interpolated into DDL (schemas cannot be bound as parameters). */
const sqlIdentifier = /^[a-z_][a-z0-9_]{0,62}$/;
/** A text search configuration name, optionally schema-qualified (`english`, `public.my_config`). */
const textSearchConfiguration = /^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/;

const booleanFromEnv = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

export const searchEnvironmentSchema = z.object({
  /** LibreChat's switch; on by default (it only has an effect when an engine is configured). */
  SEARCH: booleanFromEnv.default(true),
  MEILI_HOST: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  MEILI_MASTER_KEY: z.string().min(1).optional(),
  /** Prepended to the index names (`convos`, `messages`): lets two deployments or test runs share one Meilisearch. */
  MEILI_INDEX_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{0,100}$/, 'may hold only letters, digits, - and _').default(''),
  SEARCH_POSTGRES_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  SEARCH_POSTGRES_SCHEMA: z.string().regex(sqlIdentifier, 'must be a plain lower-case SQL identifier (a-z, 0-9, _; at most 63)').default('durachat_search'),
  /**
   * The PostgreSQL text search configuration both documents and queries go through. Default `simple`
   * (lower-casing, no stemming, no stop words): chats are written in every language, and `english` would
   * stem German or French words wrongly and drop English stop words from titles like "The Who"; prefix
   * matching as you type already finds "running" from "run". Set `english` (or any configuration the server
   * has, `\dF` in psql) for a deployment whose users write one language.
   */
  SEARCH_LANGUAGE: z.string().regex(textSearchConfiguration, 'must be a PostgreSQL text search configuration name such as simple or english').default('simple'),
});

export type SearchConfig =
  | { engine: 'meilisearch'; host: string; apiKey: string; indexPrefix: string }
  | { engine: 'postgres'; url: string; schema: string; language: string }
  | { engine: 'disabled'; reason: string };

export function loadSearchConfig(source: NodeJS.ProcessEnv = process.env): SearchConfig {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([key, value]) => value !== '' && key in searchEnvironmentSchema.shape));
  const parsed = searchEnvironmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const environment = parsed.data;
  if (!environment.SEARCH) return Object.freeze({ engine: 'disabled', reason: 'SEARCH=false' });
  if (Boolean(environment.MEILI_HOST) !== Boolean(environment.MEILI_MASTER_KEY)) {
    const missing = environment.MEILI_HOST ? 'MEILI_MASTER_KEY' : 'MEILI_HOST';
    throw new ConfigError(`Invalid configuration:\n  ${missing}: required with ${missing === 'MEILI_HOST' ? 'MEILI_MASTER_KEY' : 'MEILI_HOST'} (Meilisearch needs both)`);
  }
  if (environment.MEILI_HOST && environment.MEILI_MASTER_KEY) {
    return Object.freeze({ engine: 'meilisearch', host: environment.MEILI_HOST, apiKey: environment.MEILI_MASTER_KEY, indexPrefix: environment.MEILI_INDEX_PREFIX });
  }
  if (environment.SEARCH_POSTGRES_URL) {
    return Object.freeze({ engine: 'postgres', url: environment.SEARCH_POSTGRES_URL, schema: environment.SEARCH_POSTGRES_SCHEMA, language: environment.SEARCH_LANGUAGE });
  }
  return Object.freeze({ engine: 'disabled', reason: 'neither MEILI_HOST + MEILI_MASTER_KEY nor SEARCH_POSTGRES_URL is set' });
}

/** One line for start-up logs, without secrets. */
export function describeSearchConfig(config: SearchConfig): string {
  if (config.engine === 'meilisearch') return `Meilisearch at ${config.host}${config.indexPrefix ? ` (indexes ${config.indexPrefix}convos, ${config.indexPrefix}messages)` : ''}`;
  if (config.engine === 'postgres') return `PostgreSQL full-text search at ${config.url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}, schema ${config.schema}, language ${config.language}`;
  return `disabled (${config.reason})`;
}
