/**
 * The search indexing workflows (searchIndexerWorkflow, searchReconcileWorkflow, searchReindexWorkflow) in
 * Temporal's test environment (a dev server from the installed CLI) with the real search activities:
 * documents in FerretDB, the index in PostgreSQL full-text search (a schema of this file's own). Saved
 * histories replay, so a non-deterministic change to any of them fails here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import mongoose from 'mongoose';
import { createSearchActivities } from '../activities/search/index.ts';
import { preparedOnFirstUse } from '../activities/search/prepared-engine.ts';
import type { SearchEngine } from '../activities/search/search-engine.ts';
import { loadConfig } from '../shared/config.ts';
import { connectDatabase } from '../shared/database.ts';
import { Conversation, Message } from '../shared/models/index.ts';
import { SearchOutbox } from '../shared/models/search-outbox.ts';
import { createSearchIndexerWaker } from '../shared/search-indexer-client.ts';
import { searchIndexerWorkflowId, type SearchReindexProgress } from '../shared/search-indexing.ts';
import { assertIndexEqualsDatabase, createTestSearchEngine, dropSearchSchema, outboxEmpty } from '../test/helpers/search-stack.ts';
import { waitFor } from '../test/helpers/wait-for.ts';
import { cleanUpTestData, testEnvironment } from '../test/helpers/test-app.ts';
import { createLocalTestEnvironment, workflowSource } from '../test/helpers/temporal-test-environment.ts';
import { searchReconcileWorkflow } from './search-reconcile.ts';
import { searchReindexWorkflow } from './search-reindex.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures');
/** Where RECORD_WORKFLOW_HISTORY=1 writes; bump the version when a workflow changes on purpose. */
const recordTo = (name: string) => path.join(fixtures, `${name}-v1.history.json`);

let environment: TestWorkflowEnvironment;
let engine: SearchEngine;
let worker: Worker;
let running: Promise<void>;
let config: ReturnType<typeof loadConfig>;
const taskQueue = `search-workflow-test-${randomUUID().slice(0, 8)}`;
const userId = new mongoose.Types.ObjectId().toString();

beforeAll(async () => {
  environment = await createLocalTestEnvironment();
  config = loadConfig(testEnvironment());
  await connectDatabase(config.MONGO_URI);
  engine = preparedOnFirstUse(createTestSearchEngine());
  await engine.prepare();
  const wakeIndexer = createSearchIndexerWaker(environment.client, taskQueue);
  worker = await Worker.create({ connection: environment.nativeConnection, taskQueue, activities: createSearchActivities({ engine, wakeIndexer }), maxHeartbeatThrottleInterval: '1 second', ...workflowSource });
  running = worker.run();
});

afterAll(async () => {
  await environment?.client.workflow.getHandle(searchIndexerWorkflowId(taskQueue)).terminate('test over').catch(() => undefined);
  worker?.shutdown();
  await running;
  await engine?.close();
  await environment?.teardown();
  await dropSearchSchema();
  if (mongoose.connection.readyState === 1) await cleanUpTestData(config);
});

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
const scheduled = (history: History) => (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);

async function replayAndMaybeRecord(handle: WorkflowHandle, name: string) {
  const historyJson = historyToJSON(await handle.fetchHistory());
  if (process.env.RECORD_WORKFLOW_HISTORY === '1') writeFileSync(recordTo(name), historyJson);
  await Worker.runReplayHistory(workflowSource, JSON.parse(historyJson), handle.workflowId);
}

/** A conversation and its messages written straight to the database (no change captured). */
async function stored(title: string, texts: string[]) {
  const conversationId = randomUUID();
  await Conversation.create({ conversationId, user: userId, title });
  const messageIds: string[] = [];
  for (const text of texts) {
    const messageId = randomUUID();
    await Message.create({ messageId, conversationId, user: userId, sender: 'User', text, isCreatedByUser: true });
    messageIds.push(messageId);
  }
  return { conversationId, messageIds };
}

describe('searchIndexerWorkflow', () => {
  test('drains the outbox in batches from the database\'s current state (upserts and deletions); the history replays', async () => {
    const first = await stored('Cassowary casque', ['cassowary one', 'cassowary two', 'cassowary three']);
    const gone = await stored('Gone soon', ['gone message']);
    await SearchOutbox.insertMany([
      { kind: 'conversation', id: first.conversationId, user: userId },
      ...first.messageIds.map((id) => ({ kind: 'message', id, user: userId })),
      { kind: 'conversation', id: gone.conversationId, user: userId },
      { kind: 'message', id: gone.messageIds[0], user: userId },
      // Replays and duplicates converge: the same change twice, and a change for an id that never existed.
      { kind: 'message', id: first.messageIds[0], user: userId },
      { kind: 'message', id: randomUUID(), user: userId },
    ]);
    const handle = await environment.client.workflow.signalWithStart('searchIndexerWorkflow', {
      workflowId: searchIndexerWorkflowId(taskQueue),
      taskQueue,
      signal: 'searchWake',
      signalArgs: [],
      // Batches of 2: several engine calls, one activity.
      args: [{ batchSize: 2, maxBatches: 3 }],
    });
    await waitFor('the outbox to drain', outboxEmpty, 60_000);
    await assertIndexEqualsDatabase(engine);

    // Deleted in the database, then the change: the indexer removes both documents.
    await Message.deleteMany({ conversationId: gone.conversationId });
    await Conversation.deleteOne({ conversationId: gone.conversationId });
    await SearchOutbox.insertMany([{ kind: 'conversation', id: gone.conversationId }, { kind: 'message', id: gone.messageIds[0] }]);
    await environment.client.workflow.getHandle(handle.workflowId).signal('searchWake');
    await waitFor('the deletions drained', outboxEmpty, 60_000);
    await assertIndexEqualsDatabase(engine);
    assert.deepEqual((await engine.searchMessages({ user: userId, text: 'gone', limit: 5 })).hits, []);
    assert.equal((await engine.searchMessages({ user: userId, text: 'cassowary', limit: 10 })).hits.length, 3);

    const history = await handle.fetchHistory();
    assert.ok(scheduled(history).length >= 2 && scheduled(history).every((name) => name === 'drainSearchOutbox'), scheduled(history).join(', '));
    await replayAndMaybeRecord(handle, 'search-indexer');
  });

  test('continues as new after its loops, still draining: the history stays bounded', async () => {
    const workflowId = `indexer-${randomUUID()}`;
    const handle = await environment.client.workflow.start('searchIndexerWorkflow', { workflowId, taskQueue, args: [{ loopsPerRun: 2, idlePollSeconds: 1 }] });
    const firstRunId = handle.firstExecutionRunId;
    await waitFor('a second run', async () => (await environment.client.workflow.getHandle(workflowId).describe()).runId !== firstRunId, 30_000, 200);
    const firstRun = await environment.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
    assert.ok(firstRun.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes, 'the first run ended by continuing as new');
    const { conversationId, messageIds } = await stored('Bandicoot burrow', ['bandicoot']);
    await SearchOutbox.insertMany([{ kind: 'conversation', id: conversationId }, { kind: 'message', id: messageIds[0] }]);
    await environment.client.workflow.getHandle(workflowId).signal('searchWake');
    await waitFor('the later run to drain', outboxEmpty, 30_000);
    assert.deepEqual((await engine.searchConversations({ user: userId, text: 'bandicoot', limit: 5 })).hits.map((hit) => hit.conversationId), [conversationId]);
    await environment.client.workflow.getHandle(workflowId).terminate('test over');
  });
});

describe('searchReconcileWorkflow', () => {
  test('finds what change capture missed (missing, stale, deleted but indexed) and the indexer fixes it; the history replays', async () => {
    await waitFor('a quiet outbox', outboxEmpty);
    // Missing: written with no change recorded (a process killed between its write and its outbox entry).
    const missing = await stored('Lyrebird mimicry', ['lyrebird song']);
    // Stale: indexed, then changed in the database without a change recorded.
    const stale = await stored('Old title', ['stale text']);
    await engine.upsertConversations([{ conversationId: stale.conversationId, user: userId, title: 'Old title', updatedAt: new Date(Date.now() - 60_000).toISOString() }]);
    await Conversation.updateOne({ conversationId: stale.conversationId }, { $set: { title: 'Galah flock' } });
    // Deleted but indexed: in the index only.
    const orphan = randomUUID();
    await engine.upsertMessages([{ messageId: orphan, conversationId: randomUUID(), user: userId, sender: 'User', text: 'orphan kookaburra', isCreatedByUser: true, updatedAt: new Date().toISOString() }]);

    const handle = await environment.client.workflow.start(searchReconcileWorkflow, { workflowId: `reconcile-${randomUUID()}`, taskQueue, args: [{ pageSize: 2 }] });
    const result = await handle.result();
    // Conversations: the missing one and the stale one; messages: the missing ones and the orphan.
    assert.equal(result.conversations.enqueued, 2, JSON.stringify(result));
    assert.equal(result.messages.enqueued, 3, JSON.stringify(result));
    await waitFor('the indexer to apply the fixes', outboxEmpty, 60_000);
    await assertIndexEqualsDatabase(engine);
    assert.deepEqual((await engine.searchConversations({ user: userId, text: 'galah', limit: 5 })).hits.map((hit) => hit.conversationId), [stale.conversationId]);
    assert.deepEqual((await engine.searchConversations({ user: userId, text: 'lyrebird', limit: 5 })).hits.map((hit) => hit.conversationId), [missing.conversationId]);
    assert.deepEqual((await engine.searchMessages({ user: userId, text: 'kookaburra', limit: 5 })).hits, []);

    // A second pass over an index equal to the database finds nothing.
    const again = await environment.client.workflow.execute(searchReconcileWorkflow, { workflowId: `reconcile-${randomUUID()}`, taskQueue, args: [{ pageSize: 3 }] });
    assert.equal(again.conversations.enqueued + again.messages.enqueued, 0, JSON.stringify(again));
    await replayAndMaybeRecord(handle, 'search-reconcile');
  });
});

describe('searchReindexWorkflow', () => {
  test('rebuilds an emptied index with its progress in the memo and a query; the history replays', async () => {
    await waitFor('a quiet outbox', outboxEmpty);
    const conversations = await Conversation.find({}, { conversationId: 1 }).lean<Array<{ conversationId: string }>>();
    await engine.deleteConversations(conversations.map((conversation) => conversation.conversationId));
    assert.equal((await engine.listDocuments('messages', undefined, 10)).length, 0);

    const handle = await environment.client.workflow.start(searchReindexWorkflow, { workflowId: `reindex-${randomUUID()}`, taskQueue, args: [{ pageSize: 2 }] });
    const result = await handle.result();
    assert.equal(result.phase, 'done');
    assert.equal(result.conversations, await Conversation.countDocuments({}));
    assert.equal(result.messages, await Message.countDocuments({}));
    assert.equal(result.backlog, 0);
    const memo = (await handle.describe()).memo as { progress?: SearchReindexProgress };
    assert.deepEqual(memo.progress, result);
    await assertIndexEqualsDatabase(engine);
    await replayAndMaybeRecord(handle, 'search-reindex');
  });
});

describe('saved histories', () => {
  // Last, so a RECORD_WORKFLOW_HISTORY=1 run has written them before they are read here.
  test('saved search-workflow histories replay without non-determinism', async () => {
    const saved = readdirSync(fixtures).filter((name) => /^search-.*\.history\.json$/.test(name));
    for (const name of ['search-indexer-v1.history.json', 'search-reconcile-v1.history.json', 'search-reindex-v1.history.json']) assert.ok(saved.includes(name), `${name} is committed (found: ${saved.join(', ')})`);
    for (const name of saved) await Worker.runReplayHistory(workflowSource, JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')), name);
  });
});
