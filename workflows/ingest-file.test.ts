/**
 * The file workflows (ingestFileWorkflow, deleteFileWorkflow) in Temporal's test environment (a dev server
 * from the installed CLI) with the real file activities: local storage and a LanceDB index in a temp
 * folder, the Piscina extraction pool, the embedder against the fake provider's demo endpoint, records in
 * FerretDB. Saved histories replay, so a non-deterministic change to either workflow fails here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import mongoose from 'mongoose';
import type { FileActivityDependencies } from '../activities/files/file-dependencies.ts';
import { createFileActivities } from '../activities/files/index.ts';
import { storageKey } from '../activities/files/storage/file-storage.ts';
import { loadConfig } from '../shared/config.ts';
import { connectDatabase } from '../shared/database.ts';
import { loadEndpointsConfig } from '../shared/endpoints-config.ts';
import { deleteFileWorkflowId, ingestWorkflowId, type IngestFileInput } from '../shared/file-ingestion.ts';
import { File } from '../shared/models/file.ts';
import { makeCorruptPdf, makePdf } from '../test/helpers/file-fixtures.ts';
import { cleanUpTestData, testEnvironment } from '../test/helpers/test-app.ts';
import { createLocalTestEnvironment, workflowSource } from '../test/helpers/temporal-test-environment.ts';
import { startFakeProvider, type FakeProvider } from '../workers/demo-provider/openai-compatible-server.ts';
import { createFileRuntime } from '../workers/file-runtime.ts';
import { deleteFileWorkflow } from './delete-file.ts';
import { ingestFileWorkflow } from './ingest-file.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures');
/** Where RECORD_WORKFLOW_HISTORY=1 writes; bump the version when a workflow changes on purpose. */
const recordIngestTo = path.join(fixtures, 'ingest-file-v1.history.json');
const recordDeleteTo = path.join(fixtures, 'delete-file-v1.history.json');

let environment: TestWorkflowEnvironment;
let provider: FakeProvider;
let worker: Worker;
let running: Promise<void>;
let deps: FileActivityDependencies;
let closeDeps: () => Promise<void>;
let config: ReturnType<typeof loadConfig>;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durachat-ingest-workflow-'));
const taskQueue = `ingest-workflow-test-${randomUUID().slice(0, 8)}`;
const userId = new mongoose.Types.ObjectId().toString();

beforeAll(async () => {
  environment = await createLocalTestEnvironment();
  provider = await startFakeProvider();
  const variables = testEnvironment({ DEMO_PROVIDER_URL: provider.url, DATA_DIR: dataDir, VECTOR_INDEX_DIR: path.join(dataDir, 'vectors') });
  config = loadConfig(variables);
  await connectDatabase(config.MONGO_URI);
  // The worker's own composition (workers/file-runtime.ts), with small embedding batches.
  const runtime = createFileRuntime({ config, endpoints: loadEndpointsConfig(config), environment: { ...variables, EMBEDDINGS_BATCH_SIZE: '4' } });
  assert.equal(runtime.deps.index.kind, 'lancedb');
  deps = runtime.deps;
  closeDeps = runtime.close;
  worker = await Worker.create({ connection: environment.nativeConnection, taskQueue, activities: createFileActivities(deps), maxHeartbeatThrottleInterval: '1 second', ...workflowSource });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await closeDeps?.();
  await environment?.teardown();
  await provider?.close();
  if (mongoose.connection.readyState === 1) await cleanUpTestData(config);
  rmSync(dataDir, { recursive: true, force: true });
});

/** An uploaded file as the API leaves it: the object in storage and a `pending` record. */
async function stored(content: Uint8Array, filename: string, mimeType: string): Promise<IngestFileInput> {
  const fileId = randomUUID();
  const key = storageKey(userId, fileId);
  const { bytes } = await deps.storages('local').put(key, Readable.from([Buffer.from(content)]), { contentType: mimeType, maxBytes: 50 * 1024 * 1024 });
  await File.create({ user: userId, file_id: fileId, bytes, filename, filepath: `/api/files/download/${userId}/${fileId}`, type: mimeType, source: 'local', storageKey: key, status: 'pending' });
  return { fileId, userId, filename, mimeType, storage: { strategy: 'local', key } };
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
const scheduled = (history: History) =>
  (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
const maxAttempt = (history: History) =>
  Math.max(0, ...(history.events ?? []).map((event) => event.activityTaskStartedEventAttributes?.attempt ?? 0));

async function ingestReady(pages: string[][]) {
  const input = await stored(makePdf(pages), 'guide.pdf', 'application/pdf');
  const handle = await environment.client.workflow.start(ingestFileWorkflow, { workflowId: ingestWorkflowId(input.fileId), taskQueue, args: [input] });
  const result = await handle.result();
  return { input, handle, result };
}

describe('ingestFileWorkflow', () => {
  test('a PDF becomes ready: its chunks indexed, the record settled; the history replays', async () => {
    const pages = Array.from({ length: 4 }, (_, page) => [`Page ${page + 1} of the operations guide.`, 'Workers heartbeat while they embed each batch of chunks.']);
    const { input, handle, result } = await ingestReady(pages);
    assert.equal(result.status, 'ready');
    assert.ok(result.chunks && result.chunks >= 1);
    const record = await File.findOne({ file_id: input.fileId }).lean<{ status: string; embedded: boolean; chunks: number }>();
    assert.equal(record!.status, 'ready');
    assert.equal(record!.embedded, true);
    assert.equal(record!.chunks, result.chunks);
    assert.equal(await deps.index.countChunks(input.fileId), result.chunks);

    const history = await handle.fetchHistory();
    assert.deepEqual(scheduled(history), ['ingestFile', 'setFileStatus']);
    const historyJson = historyToJSON(history);
    if (process.env.RECORD_WORKFLOW_HISTORY === '1') writeFileSync(recordIngestTo, historyJson);
    await Worker.runReplayHistory(workflowSource, JSON.parse(historyJson), handle.workflowId);
  });

  test('a corrupt PDF ends in error after one attempt, with a message a user understands', async () => {
    const input = await stored(makeCorruptPdf(), 'broken.pdf', 'application/pdf');
    const handle = await environment.client.workflow.start(ingestFileWorkflow, { workflowId: ingestWorkflowId(input.fileId), taskQueue, args: [input] });
    const result = await handle.result();
    assert.equal(result.status, 'error');
    assert.match(result.error!, /damaged|cannot be read|corrupt/i);
    const history = await handle.fetchHistory();
    assert.equal(maxAttempt(history), 1, 'a broken file is not retried');
    assert.deepEqual(scheduled(history), ['ingestFile', 'setFileStatus']);
    const record = await File.findOne({ file_id: input.fileId }).lean<{ status: string; error: string }>();
    assert.equal(record!.status, 'error');
    assert.equal(record!.error, result.error);
    assert.equal(await deps.index.countChunks(input.fileId), 0);
  });

});

describe('deleteFileWorkflow', () => {
  test('removes chunks, object and record of a ready file, step by step; the history replays', async () => {
    const { input, result } = await ingestReady([['A page about to be deleted.', 'Its vectors go first, then the object, then the record.']]);
    assert.equal(result.status, 'ready');
    assert.ok((await deps.index.countChunks(input.fileId)) > 0);
    assert.equal(await deps.storages('local').exists(input.storage.key), true);

    const handle = await environment.client.workflow.start(deleteFileWorkflow, { workflowId: deleteFileWorkflowId(input.fileId), taskQueue, args: [input] });
    await handle.result();
    assert.equal(await deps.index.countChunks(input.fileId), 0, 'no chunk');
    assert.equal(await deps.storages('local').exists(input.storage.key), false, 'no object');
    assert.equal(await File.countDocuments({ file_id: input.fileId }), 0, 'no record');

    const history = await handle.fetchHistory();
    assert.deepEqual(scheduled(history), ['stopFileIngestion', 'deleteFileVectors', 'deleteFileObject', 'deleteFileRecord']);
    const historyJson = historyToJSON(history);
    if (process.env.RECORD_WORKFLOW_HISTORY === '1') writeFileSync(recordDeleteTo, historyJson);
    await Worker.runReplayHistory(workflowSource, JSON.parse(historyJson), handle.workflowId);
  });
});

describe('saved histories', () => {
  // Last, so a RECORD_WORKFLOW_HISTORY=1 run has written both before they are read here.
  test('saved file-workflow histories replay without non-determinism', async () => {
    const saved = readdirSync(fixtures).filter((name) => /^(ingest|delete)-file-.*\.history\.json$/.test(name));
    assert.ok(saved.includes('ingest-file-v1.history.json') && saved.includes('delete-file-v1.history.json'), `the file-workflow histories are committed (found: ${saved.join(', ')})`);
    for (const name of saved) await Worker.runReplayHistory(workflowSource, JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')), name);
  });
});
