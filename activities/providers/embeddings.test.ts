import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, test } from 'vitest';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { demoEmbedding } from '../../workers/demo-provider/embeddings.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createEmbedder } from './embeddings.ts';
import { ProviderTransientError } from './provider-errors.ts';

let server: FakeProvider;
let endpoint: ResolvedEndpoint;
const signal = new AbortController().signal;

beforeAll(async () => {
  server = await startFakeProvider({ apiKey: 'sk-embed' });
  endpoint = { name: 'demo', type: 'custom', baseURL: server.url, apiKey: 'sk-embed', models: ['demo-fast'], titleConvo: false, maxContextTokens: 8192, streamIdleTimeoutMs: 60_000, order: 0 };
});
afterAll(() => server.close());

const cosine = (first: number[], second: number[]) => first.reduce((total, value, index) => total + value * second[index]!, 0);

test('vectors come back one per input, in order, normalised, the same every time, in batches of the configured size', async () => {
  const embedder = createEmbedder({ batchSize: 4 });
  const inputs = Array.from({ length: 10 }, (_, index) => `passage number ${index} about ${index % 2 ? 'llamas' : 'volcanoes'}`);
  const before = server.requestCount();
  const progress: number[] = [];
  const result = await embedder.embed({ endpoint, model: 'demo-embed', inputs, signal, onBatch: (done) => progress.push(done) });
  assert.equal(server.requestCount() - before, 3, '10 inputs in batches of 4: 3 requests');
  assert.deepEqual(progress, [4, 8, 10]);
  assert.equal(result.vectors.length, 10);
  result.vectors.forEach((vector, index) => {
    assert.equal(vector.length, 256);
    assert.ok(Math.abs(cosine(vector, vector) - 1) < 1e-5, 'unit length');
    // float32 on the wire, so equal to the server's vector within float32 precision
    assert.ok(cosine(vector, demoEmbedding(inputs[index]!)) > 0.99999, `vector ${index} belongs to input ${index}`);
  });
  assert.ok(result.usage && result.usage.inputTokens > 0);
  const again = await embedder.embed({ endpoint, model: 'demo-embed', inputs: inputs.slice(0, 1), signal });
  assert.deepEqual(again.vectors[0], result.vectors[0]);
});

test('texts that share words are closer than texts that do not', async () => {
  const embedder = createEmbedder();
  const { vectors } = await embedder.embed({
    endpoint,
    model: 'demo-embed',
    inputs: ['The volcano erupted and lava covered the village', 'Lava from the erupting volcano reached the sea', 'Quarterly revenue grew by four percent'],
    signal,
  });
  assert.ok(cosine(vectors[0]!, vectors[1]!) > cosine(vectors[0]!, vectors[2]!) + 0.2);
});

test("the SDK's default base64 encoding decodes to the same vectors", async () => {
  const client = new OpenAI({ apiKey: 'sk-embed', baseURL: server.url, maxRetries: 0 });
  const response = await client.embeddings.create({ model: 'demo-embed', input: 'base64 on the wire' });
  assert.ok(cosine(Array.from(response.data[0]!.embedding), demoEmbedding('base64 on the wire')) > 0.99999);
  const shorter = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'short', dimensions: 64, encoding_format: 'float' });
  assert.equal(shorter.data[0]!.embedding.length, 64);
});

test('429 and 5xx are retryable plain errors; the same batch succeeds once the failures are spent', async () => {
  const embedder = createEmbedder();
  const inputs = ['first chunk', 'second chunk [fail=429 times=2 key=emb-429]'];
  for (let attempt = 0; attempt < 2; attempt += 1) {
    await assert.rejects(embedder.embed({ endpoint, model: 'demo-embed', inputs, signal }), (error) => error instanceof ProviderTransientError && !(error instanceof ApplicationFailure) && /429/.test(error.message));
  }
  const result = await embedder.embed({ endpoint, model: 'demo-embed', inputs, signal });
  assert.equal(result.vectors.length, 2);
  assert.equal(server.requestCount('emb-429'), 3);
  assert.ok(cosine(result.vectors[1]!, demoEmbedding('second chunk')) > 0.99999, 'the directive is not part of the meaning');
  await assert.rejects(embedder.embed({ endpoint, model: 'demo-embed', inputs: ['x [fail=503 key=emb-503]'], signal }), (error) => error instanceof ProviderTransientError);
});

test('400, 401 and unknown models are final ApplicationFailures', async () => {
  const embedder = createEmbedder();
  // Other endpoint names for the altered endpoints: SDK clients are cached by endpoint name.
  const final = (pattern: RegExp) => (error: unknown) => error instanceof ApplicationFailure && error.nonRetryable === true && pattern.test(error.message);
  await assert.rejects(embedder.embed({ endpoint: { ...endpoint, name: 'wrong-key', apiKey: 'wrong' }, model: 'demo-embed', inputs: ['x'], signal }), final(/401/));
  await assert.rejects(embedder.embed({ endpoint, model: 'demo-embed', inputs: ['x [fail=400 key=emb-400]'], signal }), final(/400/));
  await assert.rejects(embedder.embed({ endpoint, model: 'demo-fast', inputs: ['x'], signal }), final(/404.*does not exist/));
  await assert.rejects(embedder.embed({ endpoint, model: 'demo-embed', inputs: [''], signal }), final(/400/));
  await assert.rejects(embedder.embed({ endpoint: { ...endpoint, name: 'claude', type: 'anthropic' }, model: 'demo-embed', inputs: ['x'], signal }), final(/no embeddings API/));
});

test('no inputs: no request; an aborted signal stops before the next batch', async () => {
  const embedder = createEmbedder({ batchSize: 1 });
  const before = server.requestCount();
  assert.deepEqual(await embedder.embed({ endpoint, model: 'demo-embed', inputs: [], signal }), { vectors: [] });
  assert.equal(server.requestCount(), before);
  const controller = new AbortController();
  await assert.rejects(
    embedder.embed({ endpoint, model: 'demo-embed', inputs: ['a', 'b', 'c'], signal: controller.signal, onBatch: () => controller.abort() }),
    (error) => (error as Error).name === 'AbortError',
  );
  assert.equal(server.requestCount() - before, 1);
  assert.throws(() => createEmbedder({ batchSize: 0 }), RangeError);
});

test("many batches on one activity's signal leave no abort listeners behind on it", async () => {
  const controller = new AbortController();
  await createEmbedder({ batchSize: 1 }).embed({ endpoint, model: 'demo-embed', inputs: Array.from({ length: 15 }, (_, index) => `text ${index}`), signal: controller.signal });
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
});
