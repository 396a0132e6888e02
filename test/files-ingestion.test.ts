/**
 * An upload becomes searchable through its ingestion workflow (extract → chunk → embed → index) on the
 * files task queue: the real API, worker (in this process), Temporal, FerretDB, LanceDB in a temp folder and
 * the fake provider's deterministic embeddings.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { createLanceVectorIndex } from '../activities/files/index/lance-vector-index.ts';
import { loadFileSearchConfig } from '../shared/file-search-config.ts';
import { ingestWorkflowId } from '../shared/file-ingestion.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { makeCorruptPdf, makePdf, text } from './helpers/file-fixtures.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { maxActivityAttempt } from './helpers/temporal-history.ts';
import { cleanUpTestData, testEnvironment } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let bob: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  bob = await registerAndLogin(http, 'bob');
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

async function upload(token: string, content: Uint8Array, filename: string, type: string) {
  const form = new FormData();
  form.append('file_id', randomUUID());
  form.append('endpoint', 'demo');
  form.append('file', new Blob([content as Uint8Array<ArrayBuffer>], { type }), filename);
  const response = await fetch(`${stack.app.baseUrl}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** Polls the file (as a client would) until its ingestion settles. */
async function settled(token: string, fileId: string, timeoutMs = 60_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<string>();
  while (Date.now() < deadline) {
    const { body } = await http.get(`/api/files/${fileId}`, { token });
    seen.add(body.status);
    if (body.status === 'ready' || body.status === 'error') return { ...body, seen: [...seen] };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`file ${fileId} did not settle within ${timeoutMs} ms (seen: ${[...seen].join(', ')})`);
}

function vectorIndex() {
  const search = loadFileSearchConfig(testEnvironment(stack.environment) as NodeJS.ProcessEnv, stack.app.config);
  assert.equal(search.index.kind, 'lancedb');
  return createLanceVectorIndex({ directory: (search.index as { directory: string }).directory, tableName: (search.index as { tableName: string }).tableName });
}

describe('file ingestion', () => {
  test('a multi-page PDF: pending at once, then ready with its chunks indexed and searchable by page', async () => {
    const pages = Array.from({ length: 6 }, (_, page) => [`Page ${page + 1} of the durability handbook.`, page === 4 ? 'The heartbeat timeout notices a dead worker within seconds.' : 'Workflows survive restarts.']);
    const uploaded = await upload(alice.token, makePdf(pages), 'handbook.pdf', 'application/pdf');
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.status, 'pending');
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    assert.equal(file.embedded, true);
    assert.ok(file.chunks >= 1);
    const index = vectorIndex();
    try {
      assert.equal(await index.countChunks(file.file_id), file.chunks);
    } finally {
      await index.close();
    }
  });

  test('a file whose name lies is read as what it is; a corrupt PDF fails once, clearly, without retries', async () => {
    const lying = await upload(alice.token, makePdf([['Hidden PDF text about temporal workflows.']]), 'notes.txt', 'text/plain');
    const read = await settled(alice.token, lying.body.file_id);
    assert.equal(read.status, 'ready', read.error);

    const corrupt = await upload(alice.token, makeCorruptPdf(), 'broken.pdf', 'application/pdf');
    const failed = await settled(alice.token, corrupt.body.file_id);
    assert.equal(failed.status, 'error');
    assert.match(failed.error, /damaged|cannot be read|corrupt/i);
    assert.equal(await maxActivityAttempt(ingestWorkflowId(corrupt.body.file_id)), 1, 'a broken file is not retried');
  });

  test('the embeddings API answering 429 is retried, and the file ends ready', async () => {
    const key = randomUUID().slice(0, 8);
    const uploaded = await upload(alice.token, text(`Release notes [fail=429 times=1 key=${key}]\n\nDurable ingestion retries what is transient.`), 'notes.md', 'text/markdown');
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    assert.ok(stack.provider.requestCount(key) >= 2, 'the embeddings request was made again');
  });

  test('deleting a file is a workflow: its vectors, object and record go; another user cannot', async () => {
    const uploaded = await upload(alice.token, text('Short note about deletion workflows.'), 'delete-me.txt', 'text/plain');
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    const refused = await http.delete('/api/files', { token: bob.token, body: { files: [{ file_id: file.file_id, filepath: file.filepath }] } });
    assert.equal(refused.status, 403);
    const deleted = await http.delete('/api/files', { token: alice.token, body: { files: [{ file_id: file.file_id, filepath: file.filepath }] } });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await http.get(`/api/files/${file.file_id}`, { token: alice.token })).status, 404);
    const index = vectorIndex();
    try {
      assert.equal(await index.countChunks(file.file_id), 0);
    } finally {
      await index.close();
    }
    assert.equal((await http.get(`/api/files/download/${alice.user.id}/${file.file_id}`, { token: alice.token })).status, 404);
  });
});
