import type { FileSearchConfig } from '../../../shared/file-search-config.ts';
import { createLanceVectorIndex } from './lance-vector-index.ts';
import { createRagApiVectorIndex } from './rag-api-vector-index.ts';
import type { VectorIndex } from './vector-index.ts';

/** The configured index, built once by the worker's composition root and passed to the file activities. */
export function createVectorIndex(config: FileSearchConfig, secrets: { jwtSecret: string }): VectorIndex {
  const index = config.index;
  if (index.kind === 'rag-api') return createRagApiVectorIndex({ baseURL: index.url, jwtSecret: secrets.jwtSecret, embedTimeoutMs: index.embedTimeoutMs });
  return createLanceVectorIndex({ directory: index.directory, tableName: index.tableName });
}
