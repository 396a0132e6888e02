import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import type { ResolvedEndpoint } from '../../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../../workers/demo-provider/openai-compatible-server.ts';
import { createEmbedder } from '../../providers/embeddings.ts';
import { ProviderTransientError } from '../../providers/provider-errors.ts';
import { indexChunks } from './index-chunks.ts';
import { createLanceVectorIndex } from './lance-vector-index.ts';

let provider: FakeProvider;
let folder: string;
let endpoint: ResolvedEndpoint;

beforeAll(async () => {
  provider = await startFakeProvider();
  folder = await mkdtemp(path.join(tmpdir(), 'durachat-index-chunks-'));
  endpoint = { name: 'demo', type: 'custom', baseURL: provider.url, apiKey: 'demo', models: ['demo-fast'], titleConvo: false, maxContextTokens: 8192, streamIdleTimeoutMs: 60_000, order: 0 };
});
afterAll(async () => {
  await provider?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

test('a 429 mid-file loses one batch: the retry resumes from the last heartbeat and ends with every chunk once', async () => {
  const index = createLanceVectorIndex({ directory: folder });
  const embedder = createEmbedder({ batchSize: 2 });
  const chunks = Array.from({ length: 7 }, (_, position) => ({
    index: position,
    text: `Paragraph ${position} about herons and egrets${position === 4 ? ' [fail=429 times=1 key=mid-file]' : ''}`,
    pages: [Math.floor(position / 3) + 1],
  }));
  const base = { index, embedder, endpoint, model: 'demo-embed', fileId: 'resumed', userId: 'user-k', chunks, signal: new AbortController().signal };
  let heartbeat = 0;
  await assert.rejects(indexChunks({ ...base, onProgress: (written) => (heartbeat = written) }), ProviderTransientError);
  assert.equal(heartbeat, 4, 'two batches were written before the third failed');
  assert.equal(await index.countChunks('resumed'), 4);
  const before = provider.requestCount();
  const { inputTokens } = await indexChunks({ ...base, startAt: heartbeat, onProgress: (written) => (heartbeat = written) });
  assert.equal(provider.requestCount() - before, 2, 'only the batches from chunk 4 on are embedded again');
  assert.equal(heartbeat, 7);
  assert.ok(inputTokens > 0);
  assert.equal(await index.countChunks('resumed'), 7);
  // A retry that lost its heartbeat starts over: still one copy of each chunk.
  await indexChunks(base);
  assert.equal(await index.countChunks('resumed'), 7);
  await index.close();
});
