import type { FileActivityDependencies } from '../activities/files/file-dependencies.ts';
import { createExtractionPool } from '../activities/files/extract/extraction-pool.ts';
import { createVectorIndex } from '../activities/files/index/create-vector-index.ts';
import { createFileStorages } from '../activities/files/storage/create-file-storage.ts';
import { createEmbedder } from '../activities/providers/embeddings.ts';
import type { Config } from '../shared/config.ts';
import type { EndpointsConfig, ResolvedEndpoint } from '../shared/endpoints-config.ts';
import { loadFileEnvironment } from '../shared/file-config.ts';
import { loadFileSearchConfig, resolveEmbeddingsEndpoint } from '../shared/file-search-config.ts';

/**
 * What a worker serving the files queue holds: the storages, the extraction thread pool, the vector index
 * and the embeddings client. Built once per process (workers/worker.ts, the tests' in-process worker).
 * Settings are read from the same environment as the rest (invalid ones stop the start with a message).
 */
export function createFileRuntime(options: { config: Config; endpoints: EndpointsConfig; environment?: Record<string, string | undefined> }): { deps: FileActivityDependencies; close: () => Promise<void> } {
  const environment = options.environment ?? process.env;
  const search = loadFileSearchConfig(environment as NodeJS.ProcessEnv, options.config);
  // Without an embeddings endpoint the worker still starts: uploads are stored and their ingestion fails with
  // this reason (a file search index that embeds by itself, a RAG API, needs none).
  let embeddingsEndpoint: ResolvedEndpoint | undefined;
  let embeddingsUnavailable: string | undefined;
  try {
    embeddingsEndpoint = resolveEmbeddingsEndpoint(search, options.endpoints);
  } catch (error) {
    embeddingsUnavailable = (error as Error).message.replace(/^Invalid configuration:\s*/, '').trim();
    if (search.index.kind !== 'rag-api') console.warn(`file search is off: ${embeddingsUnavailable}`);
  }
  const extraction = createExtractionPool({ maxThreads: 1 });
  const index = createVectorIndex(search, { jwtSecret: options.config.JWT_SECRET });
  return {
    deps: {
      storages: createFileStorages({ dataDir: options.config.DATA_DIR, environment: loadFileEnvironment(environment) }),
      extraction,
      index,
      embedder: createEmbedder({ batchSize: search.embeddings.batchSize }),
      embeddingsEndpoint,
      embeddingsUnavailable,
      embeddingsModel: search.embeddings.model,
      embeddingsDimensions: search.embeddings.dimensions,
    },
    async close() {
      await extraction.close();
      await index.close();
    },
  };
}
