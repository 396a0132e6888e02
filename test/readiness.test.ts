/**
 * Liveness (/health) and readiness (/ready) against the real Redis, FerretDB and Temporal, with worker
 * heartbeats written by the same function workers use; then with Redis or Temporal on a dead port.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Readiness } from '../api/routes/health.ts';
import { findFreePort } from '../infra/local-services.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { listLiveWorkers, startWorkerHeartbeat } from '../shared/worker-heartbeat.ts';
import { createHttpClient, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
const redis = createRedisClient('redis://127.0.0.1:6379', 'readiness-test');
let keys: ReturnType<typeof createRedisKeys>;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  keys = createRedisKeys(app.config.REDIS_KEY_PREFIX);
});
afterAll(async () => {
  await app.close();
  await redis.quit();
  await cleanUpTestData(app.config);
});

async function ready(client = http) {
  const response = await client.get<Readiness>('/ready');
  assert.match(response.headers.get('content-type')!, /application\/json/);
  assert.doesNotMatch(JSON.stringify(response.body), /\bat .*:\d+:\d+|Error:/, 'no stack traces or raw errors in the answer');
  return response;
}

describe('/health', () => {
  test('answers OK as plain text without touching any dependency', async () => {
    const response = await http.get('/health');
    assert.equal(response.status, 200);
    assert.equal(response.body, 'OK');
    assert.match(response.headers.get('content-type')!, /text\/plain/);
  });
});

describe('/ready', () => {
  test('is 503 with workers not ok while no worker heartbeats for the task queue', async () => {
    const { status, body } = await ready();
    assert.equal(status, 503);
    assert.equal(body.status, 'unavailable');
    assert.equal(body.checks.redis.ok, true);
    assert.equal(body.checks.database.ok, true);
    assert.equal(body.checks.temporal.ok, true);
    assert.equal(body.checks.workers.ok, false);
    assert.deepEqual(body.checks.workers.queues, { [app.config.TASK_QUEUES.chat]: 0, [app.config.TASK_QUEUES.agent]: 0, [app.config.TASK_QUEUES.background]: 0, [app.config.TASK_QUEUES.files]: 0 });
    for (const check of Object.values(body.checks)) assert.equal(typeof check.latencyMs, 'number');
  });

  test('a heartbeat for another queue does not make it ready', async () => {
    const heartbeat = startWorkerHeartbeat(redis, keys, { workerId: 'other-queue-worker', queues: ['some-other-queue'] });
    try {
      await waitForWorkers(1);
      const { status, body } = await ready();
      assert.equal(status, 503);
      assert.deepEqual(body.checks.workers.queues, { [app.config.TASK_QUEUES.chat]: 0, [app.config.TASK_QUEUES.agent]: 0, [app.config.TASK_QUEUES.background]: 0, [app.config.TASK_QUEUES.files]: 0 });
    } finally {
      await heartbeat.stop();
    }
  });

  test('is 200 once every task queue has a worker heartbeat, and 503 again when one stops', async () => {
    const { chat, agent, background, files } = app.config.TASK_QUEUES;
    const chatWorker = startWorkerHeartbeat(redis, keys, { workerId: 'chat-worker', queues: [chat] });
    await waitForWorkers(1);
    const chatOnly = await ready();
    assert.equal(chatOnly.status, 503, 'the other queues have no worker yet');
    assert.deepEqual(chatOnly.body.checks.workers.queues, { [chat]: 1, [agent]: 0, [background]: 0, [files]: 0 });

    const bothQueues = startWorkerHeartbeat(redis, keys, { workerId: 'any-worker', queues: [chat, agent, background, files] });
    await waitForWorkers(2);
    const { status, body } = await ready();
    assert.equal(status, 200);
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.checks.workers, { ok: true, latencyMs: body.checks.workers.latencyMs, queues: { [chat]: 2, [agent]: 1, [background]: 1, [files]: 1 } });

    await bothQueues.stop();
    assert.equal((await ready()).status, 503);
    await chatWorker.stop();
    assert.deepEqual(await listLiveWorkers(redis, keys), []);
  });

  test('is 503 with redis not ok, within the check timeout, when Redis is on a dead port', async () => {
    const deadRedis = await startTestApp({ REDIS_URI: `redis://127.0.0.1:${await findFreePort()}` });
    try {
      const started = Date.now();
      const { status, body } = await ready(createHttpClient(deadRedis.baseUrl));
      assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
      assert.equal(status, 503);
      assert.equal(body.status, 'unavailable');
      assert.equal(body.checks.redis.ok, false);
      assert.equal(body.checks.workers.ok, false);
      assert.equal(body.checks.temporal.ok, true);
      assert.equal(body.checks.database.ok, true);
    } finally {
      await deadRedis.close();
    }
  });

  test('is 503 with temporal not ok when Temporal is on a dead port', async () => {
    const deadTemporal = await startTestApp({ TEMPORAL_ADDRESS: `127.0.0.1:${await findFreePort()}` });
    const heartbeat = startWorkerHeartbeat(redis, keys, { workerId: 'worker-b', queues: Object.values(deadTemporal.config.TASK_QUEUES) });
    try {
      await waitForWorkers(1);
      const started = Date.now();
      const { status, body } = await ready(createHttpClient(deadTemporal.baseUrl));
      assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
      assert.equal(status, 503);
      assert.equal(body.checks.temporal.ok, false);
      assert.equal(body.checks.redis.ok, true);
      assert.equal(body.checks.workers.ok, true);
    } finally {
      await heartbeat.stop();
      await deadTemporal.close();
    }
  });
});

describe('startWorkerHeartbeat', () => {
  test('keeps a key with the worker, its queues and a TTL of three intervals; stop() deletes it', async () => {
    const heartbeat = startWorkerHeartbeat(redis, keys, { workerId: 'worker-c', queues: ['q1', 'q2'], intervalMs: 1_000 });
    try {
      const [worker] = await waitForWorkers(1);
      assert.equal(worker!.workerId, 'worker-c');
      assert.deepEqual(worker!.queues, ['q1', 'q2']);
      assert.equal(worker!.pid, process.pid);
      const ttl = await redis.pttl(keys.workerHeartbeat('worker-c'));
      assert.ok(ttl > 0 && ttl <= 3_000, `ttl ${ttl}`);
      const firstBeat = worker!.beatAt;
      // Past one interval, well inside the key's three.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const [later] = await listLiveWorkers(redis, keys);
      assert.notEqual(later!.beatAt, firstBeat, 'beats again every interval');
      assert.equal(later!.startedAt, worker!.startedAt);
    } finally {
      await heartbeat.stop();
    }
    assert.equal(await redis.exists(keys.workerHeartbeat('worker-c')), 0);
  });
});

async function waitForWorkers(count: number) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const workers = await listLiveWorkers(redis, keys);
    if (workers.length >= count) return workers;
    if (Date.now() > deadline) throw new Error(`expected ${count} live workers, saw ${workers.length}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
