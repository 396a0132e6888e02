import type { SearchConfig } from '../../shared/search-config.ts';
import { createMeilisearchSearchEngine } from './engines/meilisearch-search-engine.ts';
import { createPostgresSearchEngine } from './engines/postgres-search-engine.ts';
import type { SearchEngine } from './search-engine.ts';

/**
 * The configured engine, built once by a process's composition root (API and worker), or undefined when
 * search is disabled: callers then answer `/api/search/enable` with false and never scan the database.
 * The caller runs `prepare()` at start-up (tables, indexes, settings) before the first query or write.
 */
export function createSearchEngine(config: SearchConfig, options: { warn?: (message: string, meta?: object) => void } = {}): SearchEngine | undefined {
  const warn = options.warn ? { warn: options.warn } : {};
  if (config.engine === 'meilisearch') return createMeilisearchSearchEngine({ host: config.host, apiKey: config.apiKey, indexPrefix: config.indexPrefix, ...warn });
  if (config.engine === 'postgres') return createPostgresSearchEngine({ url: config.url, schema: config.schema, language: config.language, ...warn });
  return undefined;
}
