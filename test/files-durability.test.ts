/**
 * Ingestion's durability promises with a real worker process (workers/worker.ts serving only the files
 * queue) that the tests kill, stop and restart: the API in this process, Temporal, FerretDB, LanceDB on disk
 * and uploads under a temp DATA_DIR that both processes share, the fake provider's embeddings.
 *
 * - a worker SIGKILLed mid-embedding: a replacement finishes the file, ready, each chunk indexed exactly once,
 *   and the retry resumed after the batches the dead attempt had reported (heartbeat details);
 * - the stored object unreadable for a while (local storage answering EISDIR): retried, then ready;
 * - a file deleted when ready, and one deleted while it is being embedded: no object, chunk or record left.
 *
 * A kill case's time is mostly the ingestion activity's 30 s heartbeat timeout (workflows/ingest-file.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { deleteFileWorkflowId, ingestWorkflowId } from '../shared/file-ingestion.ts';
import { File } from '../shared/models/file.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { startFakeProvider, type FakeProvider } from '../workers/demo-provider/openai-compatible-server.ts';
import { spawnEntryPoint } from './helpers/chat-stack.ts';
import { killHard, outputLine, stopGently } from './helpers/child-stack.ts';
import { makeCsv, text } from './helpers/file-fixtures.ts';
import { duplicatesIn, indexedRows, lanceLocation } from './helpers/file-index.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { maxActivityAttempt } from './helpers/temporal-history.ts';
import { cleanUpTestData, startTestApp, testEnvironment, type TestApp } from './helpers/test-app.ts';

/** Small batches: a file of ~2000 chunks takes a few hundred embeddings requests and index writes, seconds of work. */
const BATCH_SIZE = 8;

let dataDir: string;
let provider: FakeProvider;
let app: TestApp;
let http: HttpClient;
let environment: Record<string, string>;
let location: { directory: string; tableName: string };
let temporal: ReturnType<typeof createTemporalClient>;
let user: Awaited<ReturnType<typeof registerAndLogin>>;
/** The live worker process; a case that kills or stops it leaves its replacement here. */
let worker: ChildProcess | undefined;

async function startWorker(): Promise<ChildProcess> {
  const child = spawnEntryPoint('workers/worker.ts', { ...environment, WORKER_QUEUES: 'files', EMBEDDINGS_BATCH_SIZE: String(BATCH_SIZE) });
  // Printed once it polls the files queue. Generous: start-up is slow on a busy machine.
  await outputLine(child, /worker serving/, 60_000);
  return child;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'durachat-files-durability-'));
  provider = await startFakeProvider();
  environment = { DEMO_PROVIDER_URL: provider.url, DATA_DIR: dataDir };
  app = await startTestApp(environment);
  http = createHttpClient(app.baseUrl);
  user = await registerAndLogin(http, 'durable-files');
  // The worker child gets testEnvironment(...) from this process too (spawnEntryPoint): the same VECTOR_INDEX_DIR.
  location = lanceLocation(testEnvironment(environment), dataDir);
  assert.equal(location.directory, testEnvironment({ ...environment, WORKER_QUEUES: 'files' }).VECTOR_INDEX_DIR);
  temporal = createTemporalClient(app.config.TEMPORAL_ADDRESS, app.config.TEMPORAL_NAMESPACE);
  worker = await startWorker();
});

afterAll(async () => {
  if (worker) await stopGently(worker);
  await temporal?.connection.close();
  await app?.close();
  await provider?.close();
  if (app) await cleanUpTestData(app.config);
  rmSync(dataDir, { recursive: true, force: true });
});

async function upload(content: Uint8Array, filename: string, type: string): Promise<Record<string, any>> {
  const form = new FormData();
  form.append('file_id', randomUUID());
  form.append('endpoint', 'demo');
  form.append('file', new Blob([content as Uint8Array<ArrayBuffer>], { type }), filename);
  const response = await fetch(`${app.baseUrl}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` }, body: form });
  const body = (await response.json()) as Record<string, any>;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

/** Polls `check` until it returns something truthy, or fails with `what` after `ms`. */
async function until<T>(check: () => Promise<T>, ms: number, what: string, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const fileOf = async (fileId: string) => (await http.get(`/api/files/${fileId}`, { token: user.token })).body as Record<string, any>;

/** Polls the file (as a client would) until its ingestion settles. */
const settled = (fileId: string, ms: number) => until(async () => {
  const file = await fileOf(fileId);
  return file.status === 'ready' || file.status === 'error' ? file : undefined;
}, ms, `file ${fileId} ready or error`);

async function objectPathOf(fileId: string): Promise<string> {
  const record = await File.findOne({ file_id: fileId }).lean<{ storageKey: string }>();
  assert.ok(record, 'the file has a record');
  return path.join(dataDir, 'uploads', ...record.storageKey.split('/'));
}

/** A CSV of `rows` order lines, about 75 bytes each (20 000 rows: 1.5 MB, about 1250 chunks). */
function ordersCsv(rows: number, tag: string): Uint8Array {
  const lines = [['id', 'region', 'note']];
  for (let row = 0; row < rows; row += 1) lines.push([String(row), `region-${row % 17}`, `${tag} order ${row} shipped through warehouse ${row % 41} after inspection ${(row * 7) % 1000}`]);
  return makeCsv(lines);
}

/** The chunks the running ingestFile attempt last reported written in a heartbeat Temporal recorded (0 if none). */
async function reportedWritten(workflowId: string): Promise<number> {
  const description = await temporal.client.workflow.getHandle(workflowId).describe();
  const payload = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
  if (!payload?.data) return 0;
  const details = JSON.parse(Buffer.from(payload.data).toString('utf8')) as { written?: number } | null;
  return details?.written ?? 0;
}

const workflowStatus = async (workflowId: string) => (await temporal.client.workflow.getHandle(workflowId).describe()).status.name;

/** Every chunk of the file once: ids and indexes unique, indexes 0..chunks-1. */
async function assertIndexedOnce(fileId: string, chunks: number) {
  const rows = await indexedRows(location, fileId);
  assert.deepEqual(duplicatesIn(rows), [], 'no chunk is indexed twice');
  assert.equal(rows.length, chunks, 'the index holds exactly the file\'s chunks');
  assert.deepEqual(rows.map((row) => row.chunkIndex).sort((a, b) => a - b), Array.from({ length: chunks }, (_, index) => index));
}

describe('file ingestion durability', () => {
  test('a worker SIGKILLed mid-embedding: a replacement finishes the file, ready, every chunk indexed exactly once', async () => {
    const uploaded = await upload(ordersCsv(30_000, 'killed'), 'orders-killed.csv', 'text/csv');
    const fileId = uploaded.file_id as string;
    // Some batches written, not all, and Temporal already holds a heartbeat saying ten were: the worker dies
    // between index writes. The recorded progress lags the index by up to the 1 s heartbeat spacing (on a
    // quiet machine dozens of batches), and the dying worker may still send a request or two after
    // `requestsAtKill` is read: killed with only one batch recorded, the retry's 249 requests plus those
    // reached the file's 250 and the check below could not tell a resumed retry from a restarted one.
    const rowsAtKill = await until(async () => {
      const rows = (await indexedRows(location, fileId)).length;
      return (await reportedWritten(ingestWorkflowId(fileId))) >= 10 * BATCH_SIZE ? rows : 0;
    }, 60_000, 'ten batches reported written in a heartbeat Temporal recorded', 50);
    const requestsAtKill = provider.requestCount();
    const victim = worker!;
    worker = undefined;
    await killHard(victim);
    assert.equal((await fileOf(fileId)).status, 'embedding', 'killed mid-embedding');
    worker = await startWorker();

    // The heartbeat timeout (30 s) passes, Temporal retries the activity on the new worker.
    const file = await settled(fileId, 150_000);
    assert.equal(file.status, 'ready', file.error);
    assert.ok(file.chunks > rowsAtKill, `the kill came before the end (${rowsAtKill} of ${file.chunks} chunks indexed)`);
    await assertIndexedOnce(fileId, file.chunks);
    assert.ok((await maxActivityAttempt(ingestWorkflowId(fileId))) >= 2, 'Temporal retried ingestFile (attempt 2 in the history)');
    // The retry started after what the dead attempt had reported in its heartbeat, not from the first chunk.
    const batches = Math.ceil(file.chunks / BATCH_SIZE);
    const requestsAfterKill = provider.requestCount() - requestsAtKill;
    assert.ok(requestsAfterKill < batches, `the retry skipped written batches (${requestsAfterKill} embeddings requests after the kill, ${batches} batches in the file)`);
  }, 240_000);

  test('the stored object unreadable for a while (storage errors): retried until it reads, then ready', async () => {
    // No worker while the upload lands, so the object can be made unreadable before anyone reads it.
    if (worker) await stopGently(worker);
    worker = undefined;
    const uploaded = await upload(text('Storage hiccups are transient.\n\nThe ingestion retries until the object reads again.'), 'hiccup.txt', 'text/plain');
    const fileId = uploaded.file_id as string;
    const objectPath = await objectPathOf(fileId);
    const content = readFileSync(objectPath);
    // A directory where the object should be: stat succeeds, the read fails with EISDIR (an I/O error, not "missing").
    rmSync(objectPath);
    mkdirSync(objectPath);
    let restored = false;
    try {
      worker = await startWorker();
      const failed = await until(async () => {
        const description = await temporal.client.workflow.getHandle(ingestWorkflowId(fileId)).describe();
        const pending = description.raw.pendingActivities?.[0];
        return pending?.lastFailure && (pending.attempt ?? 0) >= 2 ? pending : undefined;
      }, 60_000, 'ingestFile failed on the unreadable object and is scheduled again');
      assert.match(String(failed.lastFailure?.message), /EISDIR|directory/i);
      assert.notEqual((await fileOf(fileId)).status, 'error', 'a storage error is not the file\'s final error');
      rmSync(objectPath, { recursive: true });
      writeFileSync(objectPath, content);
      restored = true;
      const file = await settled(fileId, 90_000);
      assert.equal(file.status, 'ready', file.error);
      await assertIndexedOnce(fileId, file.chunks);
      assert.ok((await maxActivityAttempt(ingestWorkflowId(fileId))) >= 2);
    } finally {
      if (!restored) {
        rmSync(objectPath, { recursive: true, force: true });
        writeFileSync(objectPath, content);
      }
    }
  }, 180_000);

  test('a deleted file leaves no object, no chunk and no record', async () => {
    worker ??= await startWorker();
    const uploaded = await upload(text('A note that will be deleted.\n\nIts chunks go with it.'), 'deleted.txt', 'text/plain');
    const fileId = uploaded.file_id as string;
    const file = await settled(fileId, 60_000);
    assert.equal(file.status, 'ready', file.error);
    const objectPath = await objectPathOf(fileId);
    assert.ok(existsSync(objectPath));
    assert.equal((await indexedRows(location, fileId)).length, file.chunks);

    const deleted = await http.delete('/api/files', { token: user.token, body: { files: [{ file_id: fileId, filepath: file.filepath }] } });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    await until(async () => (await workflowStatus(deleteFileWorkflowId(fileId))) === 'COMPLETED', 30_000, 'the deletion workflow completed');
    assert.equal(existsSync(objectPath), false, 'no object');
    assert.deepEqual(await indexedRows(location, fileId), [], 'no chunk');
    assert.equal(await File.countDocuments({ file_id: fileId }), 0, 'no record');
    assert.equal((await http.get(`/api/files/${fileId}`, { token: user.token })).status, 404);
  }, 120_000);

  test('a file deleted while it is being embedded: ingestion stopped, no object, no chunk and no record', async () => {
    worker ??= await startWorker();
    const uploaded = await upload(ordersCsv(30_000, 'deleted-midway'), 'orders-deleted.csv', 'text/csv');
    const fileId = uploaded.file_id as string;
    await until(async () => (await indexedRows(location, fileId)).length >= 4 * BATCH_SIZE, 60_000, 'some batches indexed', 50);
    const objectPath = await objectPathOf(fileId);
    const deleted = await http.delete('/api/files', { token: user.token, body: { files: [{ file_id: fileId, filepath: uploaded.filepath }] } });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    await until(async () => (await workflowStatus(deleteFileWorkflowId(fileId))) === 'COMPLETED', 60_000, 'the deletion workflow completed');
    assert.notEqual(await workflowStatus(ingestWorkflowId(fileId)), 'RUNNING', 'the ingestion was stopped');
    assert.equal(existsSync(objectPath), false, 'no object');
    assert.equal(await File.countDocuments({ file_id: fileId }), 0, 'no record');
    // Nothing the stopped attempt still had in flight lands afterwards: watched for a few seconds.
    const watchUntil = Date.now() + 4000;
    while (Date.now() < watchUntil) {
      assert.deepEqual(await indexedRows(location, fileId), [], 'no chunk');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 120_000);
});
