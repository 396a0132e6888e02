/**
 * The progress stream's durability rules, on the real Redis and the real file record (FerretDB): what a retried
 * activity writes again, what a lost stream gets, and when nothing more may be written.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { connectDatabase } from '../../shared/database.ts';
import { appendFileProgress, readFileProgress } from '../../shared/file-progress.ts';
import { File } from '../../shared/models/file.ts';
import { createRedisClient } from '../../shared/redis-client.ts';
import { createRedisKeys } from '../../shared/redis-keys.ts';
import { cleanUpTestData, testEnvironment } from '../../test/helpers/test-app.ts';
import { createSetFileStatus } from './file-record.ts';
import { createFileProgressReporter } from './file-progress-reporter.ts';

const config = loadConfig(testEnvironment());
const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
const redis = createRedisClient(config.REDIS_URI, 'test-file-progress');
const progress = createFileProgressReporter({ redis, keys, endedTtlSeconds: 120, warn: () => undefined });
const userId = new mongoose.Types.ObjectId().toString();

beforeAll(async () => {
  await connectDatabase(config.MONGO_URI);
});
afterAll(async () => {
  await redis.quit();
  await cleanUpTestData(config);
});

async function pendingFile() {
  const fileId = randomUUID();
  await File.create({ user: userId, file_id: fileId, bytes: 1, filename: 'a.txt', filepath: `/api/files/download/${userId}/${fileId}`, type: 'text/plain', storageKey: `${userId}/${fileId}`, status: 'embedding' });
  return fileId;
}

describe('file progress stream', () => {
  test('a retried setFileStatus writes the record again but the end event once; nothing is appended after it', async () => {
    const fileId = await pendingFile();
    const setFileStatus = createSetFileStatus({ progress });
    await progress.report(fileId, { type: 'stage', status: 'embedding' });
    await setFileStatus(fileId, userId, { status: 'ready', chunks: 3 });
    await setFileStatus(fileId, userId, { status: 'ready', chunks: 3 });
    await setFileStatus(fileId, userId, { status: 'error', error: 'late failure' });
    await progress.report(fileId, { type: 'embedding', embedded: 1, total: 3 });
    const events = await readFileProgress(redis, keys.fileProgress(fileId));
    assert.deepEqual(events.map((item) => item.event.type), ['stage', 'final']);
    assert.ok(events[1]!.seq > events[0]!.seq);
    // Once ended, the stream lives as long as a run's stream does after its end.
    const ttl = await redis.ttl(keys.fileProgress(fileId));
    assert.ok(ttl > 0 && ttl <= 120, `ttl ${ttl}`);
    // Ready is final: the late error changes neither the record nor what the stream ended with.
    const record = await File.findOne({ file_id: fileId }).lean<{ status: string; error?: string; chunks: number }>();
    assert.equal(record!.status, 'ready');
    assert.equal(record!.error, undefined);
    assert.equal(record!.chunks, 3);
  });

  test('a ready record whose end event never landed (Redis lost it) ends its stream as ready when the workflow then reports an error', async () => {
    const fileId = await pendingFile();
    const setFileStatus = createSetFileStatus({ progress });
    await File.updateOne({ file_id: fileId }, { $set: { status: 'ready', chunks: 2, embedded: true } });
    await setFileStatus(fileId, userId, { status: 'error', error: 'Connection is closed.' });
    const events = await readFileProgress(redis, keys.fileProgress(fileId));
    assert.deepEqual(events.map((item) => item.event), [{ type: 'final', status: 'ready', chunks: 2 }]);
    assert.equal((await File.findOne({ file_id: fileId }).lean<{ status: string }>())!.status, 'ready');
  });

  test('ids only grow, even when a writer\'s clock is behind; a lost stream restarts above the ids clients hold', async () => {
    const key = keys.fileProgress(randomUUID());
    const ttl = { runningSeconds: 600, endedSeconds: 60 };
    const first = await appendFileProgress(redis, key, { type: 'stage', status: 'extracting' }, ttl, { now: 5_000 });
    const behind = await appendFileProgress(redis, key, { type: 'stage', status: 'embedding' }, ttl, { now: 1_000 });
    assert.equal(first, 5_000);
    assert.equal(behind, 5_001);
    // The API's snapshot is written only where there is no stream.
    assert.equal(await appendFileProgress(redis, key, { type: 'stage', status: 'pending' }, ttl, { onlyIfMissing: true }), undefined);
    await redis.del(key);
    const rebuilt = await appendFileProgress(redis, key, { type: 'stage', status: 'embedding' }, ttl, { onlyIfMissing: true });
    assert.ok(rebuilt! > 5_001, 'a client resuming from 0-5001 still gets the new events');
  });
});
