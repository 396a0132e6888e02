import path from 'node:path';
import { z } from 'zod';
import { ConfigError, type Config } from './config.ts';
import { findEndpoint, type EndpointsConfig, type ResolvedEndpoint } from './endpoints-config.ts';

/**
 * File search's environment: which vector index (durachat's own LanceDB folder, or an existing LibreChat
 * RAG API when RAG_API_URL is set) and which embeddings model fills it. With nothing set it works with no
 * key: LanceDB in the data folder, vectors from the keyless demo endpoint's `demo-embed`.
 */
export const fileSearchEnvironmentSchema = z.object({
  /** LibreChat's variable: an existing RAG API does extraction, chunking, embeddings and search itself. */
  RAG_API_URL: z.url().optional(),
  RAG_API_EMBED_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(300_000),
  /** An endpoint name from librechat.yaml (`openAI`, or a custom endpoint such as `demo`) with an OpenAI-compatible embeddings API. */
  EMBEDDINGS_ENDPOINT: z.string().min(1).default('demo'),
  /** Default: `demo-embed` on `demo`, `text-embedding-3-small` on `openAI`; required for any other endpoint. */
  EMBEDDINGS_MODEL: z.string().min(1).optional(),
  /** Shorter vectors from models that can give them (text-embedding-3); unset: the model's own width. */
  EMBEDDINGS_DIMENSIONS: z.coerce.number().int().min(1).max(4096).optional(),
  /** Inputs per embeddings request (OpenAI's limit is 2048). */
  EMBEDDINGS_BATCH_SIZE: z.coerce.number().int().min(1).max(2048).default(64),
  /** LanceDB's folder; default `<DATA_DIR>/vectors`. */
  VECTOR_INDEX_DIR: z.string().min(1).optional(),
});

const DEFAULT_MODELS: Record<string, string> = { demo: 'demo-embed', openAI: 'text-embedding-3-small' };

export interface FileSearchConfig {
  index: { kind: 'lancedb'; directory: string; tableName: string } | { kind: 'rag-api'; url: string; embedTimeoutMs: number };
  embeddings: { endpointName: string; model: string; dimensions?: number; batchSize: number };
}

/**
 * One table per embeddings model (and width): vectors of two models are not comparable even when their
 * widths agree, so changing the model starts a new table (files ingested before are re-ingested to be found).
 */
function tableNameFor(model: string, dimensions: number | undefined): string {
  return `chunks_${model.toLowerCase().replace(/[^a-z0-9]+/g, '_')}${dimensions ? `_${dimensions}` : ''}`;
}

export function loadFileSearchConfig(source: NodeJS.ProcessEnv, base: Pick<Config, 'DATA_DIR'>): FileSearchConfig {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([key, value]) => value !== '' && key in fileSearchEnvironmentSchema.shape));
  const parsed = fileSearchEnvironmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const environment = parsed.data;
  const model = environment.EMBEDDINGS_MODEL ?? DEFAULT_MODELS[environment.EMBEDDINGS_ENDPOINT];
  if (!model) {
    throw new ConfigError(`Invalid configuration:\n  EMBEDDINGS_MODEL: required with EMBEDDINGS_ENDPOINT=${environment.EMBEDDINGS_ENDPOINT} (defaults exist for demo and openAI only)`);
  }
  const embeddings = { endpointName: environment.EMBEDDINGS_ENDPOINT, model, batchSize: environment.EMBEDDINGS_BATCH_SIZE, ...(environment.EMBEDDINGS_DIMENSIONS ? { dimensions: environment.EMBEDDINGS_DIMENSIONS } : {}) };
  const index: FileSearchConfig['index'] = environment.RAG_API_URL
    ? { kind: 'rag-api', url: environment.RAG_API_URL, embedTimeoutMs: environment.RAG_API_EMBED_TIMEOUT_MS }
    : { kind: 'lancedb', directory: environment.VECTOR_INDEX_DIR ?? path.join(base.DATA_DIR, 'vectors'), tableName: tableNameFor(model, environment.EMBEDDINGS_DIMENSIONS) };
  return Object.freeze({ index: Object.freeze(index), embeddings: Object.freeze(embeddings) });
}

/** The endpoint the embeddings go to, checked at start-up rather than at the first upload. */
export function resolveEmbeddingsEndpoint(config: FileSearchConfig, endpoints: EndpointsConfig): ResolvedEndpoint {
  const name = config.embeddings.endpointName;
  const endpoint = findEndpoint(endpoints, name);
  if (!endpoint) {
    const known = endpoints.endpoints.map((candidate) => candidate.name).join(', ') || 'none';
    throw new ConfigError(`Invalid configuration:\n  EMBEDDINGS_ENDPOINT: no endpoint named ${name} is enabled (enabled: ${known}; openAI needs OPENAI_API_KEY)`);
  }
  if (endpoint.userProvide || endpoint.userProvideURL) {
    throw new ConfigError(`Invalid configuration:\n  EMBEDDINGS_ENDPOINT: ${name} takes each user's own key; ingestion needs an endpoint with a server-side key`);
  }
  const protocol = endpoint.protocol ?? (endpoint.type === 'custom' ? 'openAI' : endpoint.type);
  if (protocol !== 'openAI') throw new ConfigError(`Invalid configuration:\n  EMBEDDINGS_ENDPOINT: ${name} speaks ${protocol}; embeddings need an OpenAI-compatible endpoint`);
  return endpoint;
}
