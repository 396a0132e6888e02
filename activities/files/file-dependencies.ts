import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import type { Embedder } from '../providers/embeddings.ts';
import type { ExtractionPool } from './extract/extraction-pool.ts';
import type { VectorIndex } from './index/vector-index.ts';
import type { FileProgressReporter } from './file-progress-reporter.ts';
import type { FileStorages } from './storage/create-file-storage.ts';

/** What the file activities need, built once by a worker serving the files queue (workers/create-workers.ts). */
export interface FileActivityDependencies {
  storages: FileStorages;
  extraction: Pick<ExtractionPool, 'extractFile'>;
  index: VectorIndex;
  embedder: Pick<Embedder, 'embed' | 'batchSize'>;
  /** Absent when none is configured (then `embeddingsUnavailable` says why, and only a RAG API index can ingest). */
  embeddingsEndpoint?: ResolvedEndpoint;
  embeddingsUnavailable?: string;
  embeddingsModel: string;
  embeddingsDimensions?: number;
  /** The ingestion's progress stream (SSE followers); the worker adds it from its Redis client. */
  progress?: FileProgressReporter;
}
