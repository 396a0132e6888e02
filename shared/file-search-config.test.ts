import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'vitest';
import { ConfigError } from './config.ts';
import type { EndpointsConfig, ResolvedEndpoint } from './endpoints-config.ts';
import { loadFileSearchConfig, resolveEmbeddingsEndpoint } from './file-search-config.ts';

const base = { DATA_DIR: '/srv/durachat' };
const endpoint = (fields: Partial<ResolvedEndpoint> & Pick<ResolvedEndpoint, 'name' | 'type'>): ResolvedEndpoint => ({
  apiKey: 'key',
  models: ['m'],
  titleConvo: false,
  maxContextTokens: 8192,
  streamIdleTimeoutMs: 60_000,
  order: 0,
  ...fields,
});
const endpoints = (list: ResolvedEndpoint[]) => ({ interface: {}, endpoints: list }) as unknown as EndpointsConfig;

test('with nothing set: LanceDB in the data folder, demo-embed from the keyless demo endpoint', () => {
  const config = loadFileSearchConfig({ UNRELATED: 'x' }, base);
  assert.deepEqual(config, {
    index: { kind: 'lancedb', directory: path.join('/srv/durachat', 'vectors'), tableName: 'chunks_demo_embed' },
    embeddings: { endpointName: 'demo', model: 'demo-embed', batchSize: 64 },
  });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.index));
});

test('openAI defaults to text-embedding-3-small; each model and width gets its own table', () => {
  const config = loadFileSearchConfig({ EMBEDDINGS_ENDPOINT: 'openAI', EMBEDDINGS_DIMENSIONS: '512', EMBEDDINGS_BATCH_SIZE: '128', VECTOR_INDEX_DIR: '/var/vectors' }, base);
  assert.deepEqual(config.embeddings, { endpointName: 'openAI', model: 'text-embedding-3-small', dimensions: 512, batchSize: 128 });
  assert.deepEqual(config.index, { kind: 'lancedb', directory: '/var/vectors', tableName: 'chunks_text_embedding_3_small_512' });
});

test('RAG_API_URL switches to the RAG API adapter', () => {
  const config = loadFileSearchConfig({ RAG_API_URL: 'http://rag_api:8000', EMBEDDINGS_ENDPOINT: '' }, base);
  assert.deepEqual(config.index, { kind: 'rag-api', url: 'http://rag_api:8000', embedTimeoutMs: 300_000 });
});

test('bad values are refused with the variable named', () => {
  assert.throws(() => loadFileSearchConfig({ RAG_API_URL: 'not a url' }, base), (error) => error instanceof ConfigError && /RAG_API_URL/.test(error.message));
  assert.throws(() => loadFileSearchConfig({ EMBEDDINGS_BATCH_SIZE: '0' }, base), (error) => error instanceof ConfigError && /EMBEDDINGS_BATCH_SIZE/.test(error.message));
  assert.throws(() => loadFileSearchConfig({ EMBEDDINGS_ENDPOINT: 'ollama' }, base), (error) => error instanceof ConfigError && /EMBEDDINGS_MODEL: required/.test(error.message));
  assert.equal(loadFileSearchConfig({ EMBEDDINGS_ENDPOINT: 'ollama', EMBEDDINGS_MODEL: 'nomic-embed-text' }, base).embeddings.model, 'nomic-embed-text');
});

test('the embeddings endpoint must be enabled, keyed on the server and OpenAI-compatible', () => {
  const demo = endpoint({ name: 'demo', type: 'custom', protocol: 'openAI' });
  const config = loadFileSearchConfig({}, base);
  assert.equal(resolveEmbeddingsEndpoint(config, endpoints([demo])), demo);
  assert.throws(() => resolveEmbeddingsEndpoint(config, endpoints([])), (error) => error instanceof ConfigError && /no endpoint named demo/.test(error.message));
  assert.throws(() => resolveEmbeddingsEndpoint(config, endpoints([{ ...demo, userProvide: true }])), /each user's own key/);
  assert.throws(() => resolveEmbeddingsEndpoint(config, endpoints([{ ...demo, protocol: 'anthropic' }])), /speaks anthropic/);
});
