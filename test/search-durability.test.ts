/**
 * Indexing's durability promises (issue 12) on the real stack: the API in this process writing through its
 * HTTP routes, Temporal, FerretDB, and PostgreSQL full-text search reached by the search worker through a
 * TCP proxy this test can close (connection refused, while FerretDB's own PostgreSQL connections are
 * untouched) or slow down.
 *
 * - the engine refusing connections while 200 messages (and a rename, a deletion, an edit) are written:
 *   the indexer's activity retries with backoff, the outbox keeps everything, and once the engine is back
 *   the index equals the database exactly (nothing missing, stale, or deleted but still indexed);
 * - a worker process (workers/worker.ts serving only the search queue) SIGKILLed while a batch is being
 *   written: a replacement applies the rest, every document indexed once, none lost.
 *
 * The kill case's time is mostly the drain activity's 20 s heartbeat timeout (workflows/search-indexer.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { SearchEngine } from '../activities/search/search-engine.ts';
import { Message } from '../shared/models/index.ts';
import { SearchOutbox } from '../shared/models/search-outbox.ts';
import { searchIndexerWorkflowId } from '../shared/search-indexing.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { spawnEntryPoint } from './helpers/chat-stack.ts';
import { killHard, outputLine, stopGently } from './helpers/child-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import {
  assertIndexEqualsDatabase,
  createTestSearchEngine,
  deleteReconcileSchedule,
  dropSearchSchema,
  importThroughApi,
  outboxEmpty,
  postgresTarget,
  searchPostgresUrl,
  searchSchema,
  startSearchWorker,
  startTcpProxy,
  useSearchEnvironment,
  type SearchWorker,
  type TcpProxy,
} from './helpers/search-stack.ts';
import { waitFor } from './helpers/wait-for.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let proxy: TcpProxy;
/** Straight to PostgreSQL: what the index holds, whatever the proxy does. */
let direct: SearchEngine;
let temporal: ReturnType<typeof createTemporalClient>;
let user: Awaited<ReturnType<typeof registerAndLogin>>;
let child: ChildProcess | undefined;
let inProcess: { worker: SearchWorker; engine: SearchEngine } | undefined;

async function startInProcessSearchWorker() {
  const engine = createTestSearchEngine(proxy.url(searchPostgresUrl));
  inProcess = { worker: await startSearchWorker(app.config, engine), engine };
}
async function stopInProcessSearchWorker() {
  await inProcess?.worker.stop();
  await inProcess?.engine.close();
  inProcess = undefined;
}

beforeAll(async () => {
  useSearchEnvironment();
  app = await startTestApp();
  user = await registerAndLogin(createHttpClient(app.baseUrl), 'durable-search');
  proxy = await startTcpProxy(postgresTarget());
  direct = createTestSearchEngine();
  temporal = createTemporalClient(app.config.TEMPORAL_ADDRESS, app.config.TEMPORAL_NAMESPACE);
  await startInProcessSearchWorker();
});

afterAll(async () => {
  if (child) await stopGently(child);
  await stopInProcessSearchWorker();
  await proxy?.close();
  await direct?.close();
  await temporal?.connection.close();
  if (app) {
    await deleteReconcileSchedule(app.config);
    await app.close();
  }
  await dropSearchSchema();
  if (app) await cleanUpTestData(app.config);
});

const indexer = () => temporal.client.workflow.getHandle(searchIndexerWorkflowId(app.config.TASK_QUEUES.search));
/** The indexer's drain activity as Temporal shows it (attempt, last failure, started or scheduled). */
async function drainActivity() {
  const description = await indexer().describe();
  return description.raw.pendingActivities?.[0];
}
const conversationsOf = (count: number, messages: number, word: string) =>
  Array.from({ length: count }, (_, index) => ({ title: `${word} log ${index + 1}`, messages: Array.from({ length: messages }, (_, position) => `${word} entry ${index + 1}.${position + 1}`) }));

describe('the search engine unreachable', () => {
  test('200 messages written while PostgreSQL refuses connections reach the index exactly once it is back', async () => {
    const [renamed, deleted, edited] = await importThroughApi(app.baseUrl, user, conversationsOf(3, 2, 'before'));
    await waitFor('the first conversations indexed', outboxEmpty);
    await assertIndexEqualsDatabase(direct);

    await proxy.refuse();
    await importThroughApi(app.baseUrl, user, conversationsOf(10, 20, 'outage'));
    assert.equal((await app.server.inject({ method: 'POST', url: '/api/convos/update', headers: { authorization: `Bearer ${user.token}` }, payload: { arg: { conversationId: renamed, title: 'Renamed during the outage' } } })).statusCode, 200);
    assert.equal((await app.server.inject({ method: 'DELETE', url: '/api/convos', headers: { authorization: `Bearer ${user.token}` }, payload: { arg: { conversationId: deleted } } })).statusCode, 200);
    const message = await Message.findOne({ conversationId: edited, isCreatedByUser: false }).lean<{ messageId: string }>();
    assert.equal((await app.server.inject({ method: 'PUT', url: `/api/messages/${edited}/${message!.messageId}`, headers: { authorization: `Bearer ${user.token}` }, payload: { text: 'edited during the outage' } })).statusCode, 200);

    // The indexer retries with backoff, each failed attempt visible in Temporal; the changes wait.
    const failing = await waitFor('the drain activity to fail twice on the refused connection', async () => {
      const activity = await drainActivity();
      return activity && (activity.attempt ?? 0) >= 3 && activity.lastFailure ? activity : undefined;
    }, 60_000, 250);
    assert.match(failing.lastFailure!.message ?? '', /ECONNREFUSED|connect|terminated|Connection/i);
    assert.ok((await SearchOutbox.countDocuments({})) >= 200, 'the outbox holds the outage\'s changes');
    assert.deepEqual((await direct.searchMessages({ user: user.user.id, text: 'outage', limit: 5 })).hits, []);

    await proxy.accept();
    // The next retry comes within the backoff's interval (at most a minute; here a few seconds).
    await waitFor('the outbox to drain after the outage', outboxEmpty, 90_000, 250);
    await assertIndexEqualsDatabase(direct);
    assert.equal(await Message.countDocuments({ user: user.user.id, text: /^outage entry/ }), 200);
    let found = 0;
    let cursor: string | undefined;
    do {
      const page = await direct.searchMessages({ user: user.user.id, text: 'outage entry', limit: 100, cursor });
      found += page.hits.length;
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(found, 200);
    assert.deepEqual((await direct.searchConversations({ user: user.user.id, text: 'renamed', limit: 5 })).hits.map((hit) => hit.conversationId), [renamed]);
    assert.deepEqual((await direct.searchMessages({ user: user.user.id, text: 'edited', limit: 5 })).hits.map((hit) => hit.messageId), [message!.messageId]);
    assert.equal((await direct.listDocuments('conversations', undefined, 10_000)).some((entry) => entry.id === deleted), false);
  });
});

describe('a worker killed mid-batch', () => {
  test('SIGKILL while a batch is written: a replacement indexes the rest, nothing lost or duplicated', async () => {
    // Only the child serves the search queue from here; its engine connections are slowed so batches last.
    await stopInProcessSearchWorker();
    await importThroughApi(app.baseUrl, user, conversationsOf(4, 150, 'kill'));
    const waiting = await SearchOutbox.countDocuments({});
    assert.ok(waiting >= 600, `${waiting} changes wait`);
    proxy.delayMs = 150;
    child = spawnEntryPoint('workers/worker.ts', { WORKER_QUEUES: 'search', SEARCH_POSTGRES_URL: proxy.url(searchPostgresUrl), SEARCH_POSTGRES_SCHEMA: searchSchema });
    await outputLine(child, /worker serving/, 60_000);
    await waitFor('a batch applied and the next one in flight', async () => {
      const remaining = await SearchOutbox.countDocuments({});
      const activity = await drainActivity();
      // PENDING_ACTIVITY_STATE_STARTED: a worker holds the drain activity now.
      return remaining < waiting && remaining > 0 && activity && Number(activity.state) === 2 ? true : undefined;
    }, 60_000, 50);
    await killHard(child);
    child = undefined;
    const left = await SearchOutbox.countDocuments({});
    assert.ok(left > 0, 'killed before the outbox was drained');

    proxy.delayMs = 0;
    await startInProcessSearchWorker();
    await waitFor('the replacement to drain the outbox', outboxEmpty, 120_000, 250);
    await assertIndexEqualsDatabase(direct);
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await direct.searchMessages({ user: user.user.id, text: 'kill entry', limit: 100, cursor });
      ids.push(...page.hits.map((hit) => hit.messageId));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(ids.length, 600);
    assert.equal(new Set(ids).size, 600);
  });
});
