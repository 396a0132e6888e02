import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { DEMO_EMBEDDING_DIMENSIONS, demoEmbedding } from './embeddings.ts';
import { startFakeProvider, type FakeProvider } from './openai-compatible-server.ts';

let server: FakeProvider;
beforeAll(async () => {
  server = await startFakeProvider();
});
afterAll(() => server.close());

const cosine = (first: number[], second: number[]) => first.reduce((total, value, index) => total + value * second[index]!, 0);

test('demo vectors: deterministic, unit length, case-blind, closer for shared words, directives ignored', () => {
  const vector = demoEmbedding('Herons wade in shallow water');
  assert.equal(vector.length, DEMO_EMBEDDING_DIMENSIONS);
  assert.deepEqual(demoEmbedding('Herons wade in shallow water'), vector);
  assert.ok(Math.abs(cosine(vector, vector) - 1) < 1e-9);
  assert.ok(cosine(vector, demoEmbedding('HERONS WADE IN SHALLOW WATER')) > 0.999999);
  assert.ok(cosine(vector, demoEmbedding('herons wade [fail=429 times=2 key=k1]')) > cosine(vector, demoEmbedding('quarterly revenue grew')) + 0.3);
  assert.deepEqual(demoEmbedding('herons wade [fail=429 times=2 key=k1]'), demoEmbedding('herons wade'));
  const empty = demoEmbedding('   ');
  assert.equal(cosine(empty, empty), 1, 'a text without words still has a direction');
});

test('POST /v1/embeddings answers in OpenAI shapes', async () => {
  const post = (body: unknown) => fetch(`${server.url}/embeddings`, { method: 'POST', headers: { authorization: 'Bearer demo', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const response = await post({ model: 'demo-embed', input: ['one text', 'two texts'], encoding_format: 'float' });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.object, 'list');
  assert.equal(body.model, 'demo-embed');
  assert.deepEqual(body.data.map((item: any) => [item.object, item.index, item.embedding.length]), [['embedding', 0, 256], ['embedding', 1, 256]]);
  assert.deepEqual(body.usage, { prompt_tokens: 5, total_tokens: 5 });
  const single = await (await post({ model: 'demo-embed', input: 'one text', encoding_format: 'base64' })).json();
  const decoded = new Float32Array(new Uint8Array(Buffer.from(single.data[0].embedding, 'base64')).buffer);
  assert.ok(cosine(Array.from(decoded), demoEmbedding('one text')) > 0.99999);
  const unknown = await post({ model: 'gpt-4o', input: 'x' });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, 'model_not_found');
  assert.equal((await post({ model: 'demo-embed', input: Array.from({ length: 2049 }, () => 'x') })).status, 400);
  const rateLimited = await post({ model: 'demo-embed', input: ['x [fail=429 key=route-429]'] });
  assert.equal(rateLimited.status, 429);
  assert.equal(rateLimited.headers.get('retry-after'), '1');
  assert.equal((await rateLimited.json()).error.code, 'rate_limit_exceeded');
});
