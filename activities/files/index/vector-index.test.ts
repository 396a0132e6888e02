import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { ResolvedEndpoint } from '../../../shared/endpoints-config.ts';
import { startFakeRagApi, type FakeRagApi } from '../../../test/fakes/rag-api-server.ts';
import { startFakeProvider, type FakeProvider } from '../../../workers/demo-provider/openai-compatible-server.ts';
import { createEmbedder } from '../../providers/embeddings.ts';
import { createFileSearch } from './file-search.ts';
import { VectorIndexTransientError } from './index-errors.ts';
import { createLanceVectorIndex } from './lance-vector-index.ts';
import { createRagApiVectorIndex } from './rag-api-vector-index.ts';
import type { VectorIndex } from './vector-index.ts';

/**
 * One suite, run against both indexes: LanceDB on disk (chunks embedded by the real openai SDK against the
 * demo server) and the RAG API adapter against a fake RAG API that embeds the file itself. A document is a
 * list of pages, each a list of paragraphs; both sides make one chunk per paragraph.
 */
const JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const signal = new AbortController().signal;

let provider: FakeProvider;
let ragApi: FakeRagApi;
let lanceFolder: string;
let endpoint: ResolvedEndpoint;
const embedder = createEmbedder({ batchSize: 3 });

beforeAll(async () => {
  provider = await startFakeProvider();
  ragApi = await startFakeRagApi({ jwtSecret: JWT_SECRET, chunkSize: 100 });
  lanceFolder = await mkdtemp(path.join(tmpdir(), 'durachat-lance-'));
  endpoint = { name: 'demo', type: 'custom', baseURL: provider.url, apiKey: 'demo', models: ['demo-fast'], titleConvo: false, maxContextTokens: 8192, streamIdleTimeoutMs: 60_000, order: 0 };
});
afterAll(async () => {
  await provider?.close();
  await ragApi?.close();
  if (lanceFolder) await rm(lanceFolder, { recursive: true, force: true });
});

interface TestFile {
  fileId: string;
  userId: string;
  pages: string[][];
}

const embed = async (texts: string[]) => (await embedder.embed({ endpoint, model: 'demo-embed', inputs: texts, signal })).vectors;

async function ingest(index: VectorIndex, file: TestFile) {
  if (index.ingestsRawFiles) {
    const content = new Blob([file.pages.map((paragraphs) => paragraphs.join('\n\n')).join('\f')], { type: 'application/pdf' });
    const { knownType } = await index.ingestFile({ fileId: file.fileId, userId: file.userId, filename: 'report.pdf', contentType: 'application/pdf', content }, signal);
    assert.equal(knownType, true);
    return;
  }
  const paragraphs = file.pages.flatMap((texts, page) => texts.map((text) => ({ text, pages: [page + 1] })));
  const vectors = await embed(paragraphs.map((paragraph) => paragraph.text));
  const chunks = paragraphs.map((paragraph, index) => ({ id: `${file.fileId}:${index}`, index, ...paragraph, vector: vectors[index]! }));
  // In batches, as the ingestion workflow writes them.
  for (let start = 0; start < chunks.length; start += 2) await index.upsertChunks(file.fileId, file.userId, chunks.slice(start, start + 2));
}

const VOLCANO: string[][] = [
  ['Mount Etna is an active volcano on the east coast of Sicily.', 'Its lava flows reached the town of Nicolosi in 1669.'],
  ['Llamas are domesticated camelids from the Andes of South America.', 'Farmers keep llamas for wool and as pack animals.'],
  ['Quarterly revenue grew four percent on stronger subscription sales.'],
];

const kinds: Array<{ name: string; create: () => VectorIndex }> = [
  { name: 'LanceDB', create: () => createLanceVectorIndex({ directory: path.join(lanceFolder, 'vectors') }) },
  { name: 'RAG API', create: () => createRagApiVectorIndex({ baseURL: ragApi.url, jwtSecret: JWT_SECRET }) },
];

describe.each(kinds)('$name vector index', ({ name, create }) => {
  let index: VectorIndex;
  const id = (label: string) => `${name.replace(/\W/g, '')}-${label}`;
  const search = (request: { userId: string; fileIds: string[]; query: string; k?: number }) =>
    createFileSearch({ index, embedQuery: async (text) => (await embed([text]))[0]! }).search(request, signal);

  beforeAll(() => {
    index = create();
  });
  afterAll(() => index?.close());

  test('finds the passage that answers, with its file and page, best first, scored in 0..1', async () => {
    const file = { fileId: id('volcano'), userId: 'user-a', pages: VOLCANO };
    await ingest(index, file);
    assert.equal(await index.countChunks(file.fileId), 5);
    const hits = await search({ userId: 'user-a', fileIds: [file.fileId], query: 'Why do farmers keep llamas?', k: 3 });
    assert.equal(hits.length, 3);
    assert.match(hits[0]!.text, /Farmers keep llamas/);
    assert.deepEqual(hits[0]!.pages, [2]);
    assert.equal(hits[0]!.fileId, file.fileId);
    assert.ok(hits.every((hit) => hit.score >= 0 && hit.score <= 1));
    assert.ok(hits[0]!.score > hits[2]!.score, 'best first');
    const lava = await search({ userId: 'user-a', fileIds: [file.fileId], query: 'lava flows from the volcano Etna', k: 1 });
    assert.match(lava[0]!.text, /Etna|lava/);
    assert.deepEqual(lava[0]!.pages, [1]);
  });

  test("never returns another user's chunks, nor files that were not asked for", async () => {
    const mine = { fileId: id('mine'), userId: 'user-b', pages: [['The secret launch code of user b is pineapple.']] };
    const theirs = { fileId: id('theirs'), userId: 'user-c', pages: [['The secret launch code of user c is mango.']] };
    const other = { fileId: id('other'), userId: 'user-b', pages: [['Another file of user b about the secret launch code.']] };
    for (const file of [mine, theirs, other]) await ingest(index, file);
    const hits = await search({ userId: 'user-b', fileIds: [mine.fileId, theirs.fileId], query: 'secret launch code', k: 10 });
    assert.deepEqual([...new Set(hits.map((hit) => hit.fileId))], [mine.fileId]);
    assert.ok(!hits.some((hit) => /mango/.test(hit.text)));
    assert.deepEqual(await search({ userId: 'user-b', fileIds: [theirs.fileId], query: 'secret launch code' }), []);
    const both = await search({ userId: 'user-b', fileIds: [mine.fileId, other.fileId], query: 'secret launch code', k: 10 });
    assert.deepEqual(new Set(both.map((hit) => hit.fileId)), new Set([mine.fileId, other.fileId]));
    assert.equal((await search({ userId: 'user-b', fileIds: [mine.fileId, other.fileId], query: 'secret launch code', k: 1 })).length, 1);
  });

  test('ingesting the same file again leaves one copy of each chunk', async () => {
    const file = { fileId: id('again'), userId: 'user-d', pages: VOLCANO };
    await ingest(index, file);
    await ingest(index, file);
    await ingest(index, file);
    assert.equal(await index.countChunks(file.fileId), 5);
    if (index.ingestsRawFiles) assert.equal(ragApi.documentCount(file.fileId), 5);
    const hits = await search({ userId: 'user-d', fileIds: [file.fileId], query: 'llamas', k: 10 });
    assert.equal(hits.length, 5);
    assert.equal(new Set(hits.map((hit) => hit.text)).size, 5, 'no passage twice');
  });

  test('deleting a file removes all of its chunks and nothing else; deleting again is fine', async () => {
    const gone = { fileId: id('gone'), userId: 'user-e', pages: VOLCANO };
    const kept = { fileId: id('kept'), userId: 'user-e', pages: VOLCANO };
    await ingest(index, gone);
    await ingest(index, kept);
    await index.deleteFile(gone.fileId, signal);
    assert.equal(await index.countChunks(gone.fileId), 0);
    assert.equal(await index.countChunks(kept.fileId), 5);
    assert.deepEqual(await search({ userId: 'user-e', fileIds: [gone.fileId], query: 'llamas' }), []);
    await index.deleteFile(gone.fileId, signal);
    await index.deleteFile(id('never-existed'), signal);
    assert.equal(await index.countChunks(id('never-existed')), 0);
  });

  test('ids made of quotes, backslashes and SQL are stored, matched exactly and cannot widen a filter', async () => {
    const tricky = { fileId: `${id('x')}' OR '1'='1`, userId: "user-f\\' OR 1=1 --", pages: [['Tricky identifiers still find the passage about owls.']] };
    const victim = { fileId: id('victim'), userId: 'user-g', pages: [['The victim file talks about owls too.']] };
    await ingest(index, tricky);
    await ingest(index, victim);
    assert.equal(await index.countChunks(tricky.fileId), 1);
    const hits = await search({ userId: tricky.userId, fileIds: [tricky.fileId, victim.fileId], query: 'owls' });
    assert.deepEqual(hits.map((hit) => hit.fileId), [tricky.fileId]);
    assert.deepEqual(await search({ userId: "user-g' OR '1'='1", fileIds: [victim.fileId, `${victim.fileId}' OR '1'='1`], query: 'owls' }), []);
    await index.deleteFile(`${id('victim')}' OR '1'='1`, signal);
    assert.equal(await index.countChunks(victim.fileId), 1, 'a look-alike id deletes nothing');
    await index.deleteFile(tricky.fileId, signal);
    assert.equal(await index.countChunks(tricky.fileId), 0);
  });
});

describe('LanceDB specifics', () => {
  test('chunks survive reopening the folder; vectors of another width are refused for good', async () => {
    const directory = path.join(lanceFolder, 'reopen');
    const first = createLanceVectorIndex({ directory });
    const [vector] = await embed(['persisted passage about herons']);
    await first.upsertChunks('kept-file', 'user-h', [{ id: 'kept-file:0', index: 0, text: 'persisted passage about herons', pages: [], vector: vector! }]);
    await first.close();
    const second = createLanceVectorIndex({ directory });
    assert.equal(await second.countChunks('kept-file'), 1);
    const [hit] = await second.query({ userId: 'user-h', fileIds: ['kept-file'], text: 'herons', vector: vector!, k: 5 });
    assert.ok(hit!.score > 0.999, 'the same vector: distance 0, relevance 1');
    assert.deepEqual(hit!.pages, []);
    await assert.rejects(
      second.upsertChunks('wide-file', 'user-h', [{ id: 'wide-file:0', index: 0, text: 'x', pages: [], vector: new Array(1536).fill(0.01) }]),
      (error) => error instanceof ApplicationFailure && error.nonRetryable === true && /256-dimensional vectors but got 1536/.test(error.message),
    );
    await assert.rejects(second.query({ userId: 'user-h', fileIds: ['kept-file'], text: 'herons', k: 5 }), (error) => error instanceof ApplicationFailure && error.nonRetryable === true);
    await second.close();
  });

  test("another process's writes and deletes are seen by an index opened before them", async () => {
    const directory = path.join(lanceFolder, 'two-processes');
    const ingestion = createLanceVectorIndex({ directory });
    const search = createLanceVectorIndex({ directory });
    const [vector] = await embed(['cranes migrate in autumn']);
    const chunk = (fileId: string) => [{ id: `${fileId}:0`, index: 0, text: 'cranes migrate in autumn', pages: [], vector: vector! }];
    await ingestion.upsertChunks('first', 'user-j', chunk('first'));
    assert.equal(await search.countChunks('first'), 1, 'the search side opens the table');
    await ingestion.upsertChunks('second', 'user-j', chunk('second'));
    assert.equal(await search.countChunks('second'), 1);
    assert.equal((await search.query({ userId: 'user-j', fileIds: ['second'], text: 'cranes', vector: vector!, k: 3 })).length, 1);
    await ingestion.deleteFile('first');
    assert.equal(await search.countChunks('first'), 0);
    // Ingestion activities of several files write at once, from both handles: every chunk lands.
    const files = Array.from({ length: 6 }, (_, index) => `parallel-${index}`);
    await Promise.all(files.map((fileId, index) => (index % 2 ? ingestion : search).upsertChunks(fileId, 'user-j', chunk(fileId))));
    for (const fileId of files) assert.equal(await search.countChunks(fileId), 1, fileId);
    await Promise.all([ingestion.close(), search.close()]);
  });

  test('an empty folder answers queries and counts without creating anything', async () => {
    const index = createLanceVectorIndex({ directory: path.join(lanceFolder, 'empty') });
    assert.deepEqual(await index.query({ userId: 'u', fileIds: ['f'], text: 't', vector: [1, 0], k: 3 }), []);
    assert.equal(await index.countChunks('f'), 0);
    await index.deleteFile('f');
    await index.close();
  });

  test('a table another process is still creating (its folder there, no version yet) reads as not there yet', async () => {
    const directory = path.join(lanceFolder, 'being-created');
    // What another worker's first ingestion leaves for a moment: the table's folder, before its first version.
    await mkdir(path.join(directory, 'file_chunks.lance'), { recursive: true });
    const index = createLanceVectorIndex({ directory });
    assert.deepEqual(await index.query({ userId: 'u', fileIds: ['f'], text: 't', vector: [1, 0], k: 3 }), []);
    assert.equal(await index.countChunks('f'), 0);
    await index.close();
  });
});

describe('RAG API specifics', () => {
  test('its failures are classified: 5xx and 429 retried, a wrong secret final, a failed store retried', async () => {
    const index = createRagApiVectorIndex({ baseURL: ragApi.url, jwtSecret: JWT_SECRET });
    const file = { fileId: 'rag-failures', userId: 'user-i', filename: 'notes.txt', contentType: 'text/plain', content: new Blob(['Herons wade in shallow water.']) };
    ragApi.failNext('/embed', 503);
    await assert.rejects(index.ingestFile(file), (error) => error instanceof VectorIndexTransientError && /503/.test(error.message));
    assert.deepEqual(await index.ingestFile(file), { knownType: true });
    ragApi.failNext('/query', 429);
    await assert.rejects(index.query({ userId: 'user-i', fileIds: ['rag-failures'], text: 'herons', k: 3 }), (error) => error instanceof VectorIndexTransientError);
    assert.equal((await index.query({ userId: 'user-i', fileIds: ['rag-failures'], text: 'herons', k: 3 })).length, 1);
    const wrongSecret = createRagApiVectorIndex({ baseURL: ragApi.url, jwtSecret: 'another-secret-another-secret-another' });
    await assert.rejects(
      wrongSecret.query({ userId: 'user-i', fileIds: ['rag-failures'], text: 'herons', k: 3 }),
      (error) => error instanceof ApplicationFailure && error.nonRetryable === true && /401.*Invalid token/.test(error.message),
    );
    const unknownType = await index.ingestFile({ ...file, fileId: 'rag-unknown', filename: 'blob.bin', contentType: 'application/octet-stream' });
    assert.deepEqual(unknownType, { knownType: false });
  });

  test('a RAG API that is not there is a retryable failure', async () => {
    const index = createRagApiVectorIndex({ baseURL: 'http://127.0.0.1:9', jwtSecret: JWT_SECRET, requestTimeoutMs: 2000 });
    await assert.rejects(index.countChunks('anything'), (error) => error instanceof VectorIndexTransientError && !(error instanceof ApplicationFailure));
  });
});
