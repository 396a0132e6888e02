/**
 * The chat workflow in Temporal's own test environment: a dev server started from the installed CLI
 * (`existing-path`, nothing downloaded), the real activities against FerretDB, Redis and the fake
 * provider, and replay of a saved history so that a non-deterministic change fails here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import mongoose from 'mongoose';
import { createActivities } from '../activities/index.ts';
import { createStreamTurn } from '../activities/chat/stream-turn.ts';
import type { ChatRunInput } from '../shared/chat-run.ts';
import { foldReply } from '../shared/run-content.ts';
import { readEvents } from '../shared/run-stream.ts';
import type { SequencedEvent } from '../shared/run-events.ts';
import { loadConfig } from '../shared/config.ts';
import { connectDatabase } from '../shared/database.ts';
import { Message } from '../shared/models/index.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { cleanUpTestData, testEnvironment } from '../test/helpers/test-app.ts';
import { demoTurnInput, writeCreated } from '../test/helpers/chat-run-input.ts';
import { createLocalTestEnvironment, workflowSource } from '../test/helpers/temporal-test-environment.ts';
import { testActivityDependencies } from '../test/helpers/activity-dependencies.ts';
import { startFakeProvider, type FakeProvider } from '../workers/demo-provider/openai-compatible-server.ts';
import { createTokenCounter } from '../workers/token-counter.ts';
import { chatWorkflow } from './chat.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures');
/** Where RECORD_WORKFLOW_HISTORY=1 writes; bump the version when the workflow changes on purpose. */
const recordTo = path.join(fixtures, 'chat-completed-v4.history.json');

let environment: TestWorkflowEnvironment;
let provider: FakeProvider;
let worker: Worker;
let failingWorker: Worker;
let crashingWorker: Worker;
let titleFailsWorker: Worker;
let running: Promise<void>;
const redis = createRedisClient('redis://127.0.0.1:6379', 'workflow-test');
const tokenCounter = createTokenCounter({ maxThreads: 1 });
let config: ReturnType<typeof loadConfig>;
const taskQueue = `workflow-test-${randomUUID().slice(0, 8)}`;
const failingQueue = `${taskQueue}-failing-save`;
const crashingQueue = `${taskQueue}-crash-after-close`;
const titleFailsQueue = `${taskQueue}-title-fails`;

beforeAll(async () => {
  environment = await createLocalTestEnvironment();
  provider = await startFakeProvider();
  config = loadConfig(testEnvironment({ DEMO_PROVIDER_URL: provider.url }));
  await connectDatabase(config.MONGO_URI);
  const deps = testActivityDependencies({ redis, config, tokenCounter, streamMaxLength: 1000 });
  const activities = createActivities(deps);
  const streamTurn = createStreamTurn(deps);
  worker = await Worker.create({ connection: environment.nativeConnection, taskQueue, activities, maxHeartbeatThrottleInterval: '1 second', ...workflowSource });
  // The same activities, except that streamTurn's saving of the request fails (the database refusing it).
  const refuse = async () => {
    throw ApplicationFailure.nonRetryable('the database refused the write', 'DatabaseUnavailable');
  };
  failingWorker = await Worker.create({
    connection: environment.nativeConnection,
    taskQueue: failingQueue,
    activities: { ...activities, saveRequest: refuse, streamTurn: createStreamTurn(deps, { saveRequest: refuse }) },
    maxHeartbeatThrottleInterval: '1 second',
    ...workflowSource,
  });
  // streamTurn's first attempt closes the run, then its worker "dies" before reporting it (a retryable failure).
  crashingWorker = await Worker.create({
    connection: environment.nativeConnection,
    taskQueue: crashingQueue,
    activities: {
      ...activities,
      streamTurn: async (run: ChatRunInput) => {
        const result = await streamTurn(run);
        if (Context.current().info.attempt === 1) throw new Error('worker lost after closing the run');
        return result;
      },
    },
    maxHeartbeatThrottleInterval: '1 second',
    ...workflowSource,
  });
  // The title call inside streamTurn fails (the title model down for a moment).
  titleFailsWorker = await Worker.create({
    connection: environment.nativeConnection,
    taskQueue: titleFailsQueue,
    activities: {
      ...activities,
      streamTurn: createStreamTurn(deps, {
        title: async () => {
          throw new Error('title model unavailable');
        },
      }),
    },
    maxHeartbeatThrottleInterval: '1 second',
    ...workflowSource,
  });
  running = Promise.all([worker.run(), failingWorker.run(), crashingWorker.run(), titleFailsWorker.run()]).then(() => undefined);
});

afterAll(async () => {
  worker.shutdown();
  failingWorker.shutdown();
  crashingWorker.shutdown();
  titleFailsWorker.shutdown();
  await running;
  await environment.teardown();
  await provider.close();
  await tokenCounter.close();
  await redis.quit();
  if (mongoose.connection.readyState === 1) await cleanUpTestData(config);
});

const streamedText = (items: SequencedEvent[]) => foldReply(items.map((item) => item.event)).text;
const readAllEntries = (client: typeof redis, key: string) => readEvents(client, key);

/** A run's input, with its `created` event written as the API does before it starts the workflow. */
async function input(text: string, overrides: Partial<ChatRunInput> = {}): Promise<ChatRunInput> {
  const run = demoTurnInput(text, { generateTitle: true, ...overrides });
  await writeCreated(redis, config.REDIS_KEY_PREFIX, run, 120);
  return run;
}

describe('chatWorkflow', () => {
  test('completes: request and reply saved, stream closed with a final event, title generated', async () => {
    const run = await input('workflow test [tokens=12]');
    const handle = await environment.client.workflow.start(chatWorkflow, { workflowId: `chat-${run.responseMessageId}`, taskQueue, args: [run] });
    assert.deepEqual(await handle.result(), { status: 'completed', finishReason: 'stop' });
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ text: string; unfinished: boolean }>();
    const entries = await readAllEntries(redis, createRedisKeys(config.REDIS_KEY_PREFIX).chatStream(run.streamId));
    assert.equal(reply!.text, streamedText(entries));
    assert.equal(reply!.text.split(' ').length, 12);
    assert.equal(entries.at(-1)!.event.type, 'final');
    assert.deepEqual(entries.map((item) => item.seq), entries.map((_, index) => index + 1), 'ids are the run\'s own sequence');

    const history = await handle.fetchHistory();
    const activityTypes = (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    // One activity for the turn: it saved the request, closed the run and titled the conversation.
    assert.deepEqual(activityTypes, ['streamTurn']);
    const conversation = await mongoose.connection.db!.collection('conversations').findOne({ conversationId: run.conversationId });
    assert.ok(conversation?.title && conversation.title !== 'New Chat', `titled: ${conversation?.title}`);
    const request = await Message.findOne({ messageId: run.userMessage!.messageId }).lean<{ text: string }>();
    assert.equal(request!.text, 'workflow test [tokens=12]');
    // The history the current code produces replays deterministically.
    const historyJson = historyToJSON(history);
    if (process.env.RECORD_WORKFLOW_HISTORY === '1') writeFileSync(recordTo, historyJson);
    await Worker.runReplayHistory(workflowSource, JSON.parse(historyJson), handle.workflowId);
  });

  test('saved histories from every earlier version replay without non-determinism', async () => {
    const saved = readdirSync(fixtures).filter((name) => name.endsWith('.history.json'));
    assert.ok(saved.length >= 2, 'the fixtures of earlier versions are committed');
    for (const name of saved) {
      await Worker.runReplayHistory(workflowSource, JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')), name);
    }
  });

  test('cancelled mid-stream: the partial reply is saved unfinished and the run still closes', async () => {
    const run = await input('cancel me [tokens=200 rate=20]');
    const handle = await environment.client.workflow.start(chatWorkflow, { workflowId: `chat-${run.responseMessageId}`, taskQueue, args: [run] });
    const streamKey = createRedisKeys(config.REDIS_KEY_PREFIX).chatStream(run.streamId);
    const deadline = Date.now() + 20_000;
    while (streamedText(await readAllEntries(redis, streamKey)).split(' ').length < 5) {
      assert.ok(Date.now() < deadline, 'five words streamed within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await handle.cancel();
    assert.deepEqual(await handle.result(), { status: 'aborted' });
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ text: string; unfinished: boolean }>();
    assert.equal(reply!.unfinished, true);
    assert.equal(reply!.text, streamedText(await readAllEntries(redis, streamKey)));
    assert.ok(reply!.text.split(' ').length < 200);
  });

  test('a refused provider call (401) ends the run with an error outcome after one attempt', async () => {
    const key = randomUUID();
    const run = await input(`refused [fail=401 times=9 key=${key}]`);
    const handle = await environment.client.workflow.start(chatWorkflow, { workflowId: `chat-${run.responseMessageId}`, taskQueue, args: [run] });
    const outcome = (await handle.result()) as { status: string; errorMessage: string };
    assert.equal(outcome.status, 'error');
    assert.match(outcome.errorMessage, /401/);
    assert.equal(provider.requestCount(key), 1);
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ error: boolean }>();
    assert.equal(reply!.error, true);
  });

  test('saving the request fails: the reply still streams whole and finishRun saves the turn and closes the run', async () => {
    const run = await input('save fails [tokens=30]', { generateTitle: false });
    const handle = await environment.client.workflow.start(chatWorkflow, { workflowId: `chat-${run.responseMessageId}`, taskQueue: failingQueue, args: [run] });
    assert.deepEqual(await handle.result(), { status: 'completed', finishReason: 'stop' });
    const entries = await readAllEntries(redis, createRedisKeys(config.REDIS_KEY_PREFIX).chatStream(run.streamId));
    assert.equal(entries.at(-1)!.event.type, 'final', 'clients are told');
    assert.equal(entries.filter((item) => item.event.type === 'final').length, 1);
    // finishRun saved what streamTurn could not (insert-if-absent): the user's message is not lost.
    const request = await Message.findOne({ messageId: run.userMessage!.messageId }).lean<{ text: string }>();
    assert.equal(request!.text, 'save fails [tokens=30]');
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ text: string }>();
    assert.equal(reply!.text, streamedText(entries));
    assert.equal(reply!.text.split(' ').length, 30);
    const history = await handle.fetchHistory();
    const activityTypes = (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    assert.deepEqual(activityTypes, ['streamTurn', 'finishRun']);
  });

  test('the title fails inside the turn: the background activity titles the conversation', async () => {
    const run = await input('title fails [tokens=10]');
    const handle = await environment.client.workflow.start(chatWorkflow, { workflowId: `chat-${run.responseMessageId}`, taskQueue: titleFailsQueue, args: [run] });
    assert.deepEqual(await handle.result(), { status: 'completed', finishReason: 'stop' });
    const history = await handle.fetchHistory();
    const activityTypes = (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    assert.deepEqual(activityTypes, ['streamTurn', 'generateTitle']);
    const conversation = await mongoose.connection.db!.collection('conversations').findOne({ conversationId: run.conversationId });
    assert.ok(conversation?.title && conversation.title !== 'New Chat', `titled: ${conversation?.title}`);
  });

  test('the worker is lost after streamTurn closed the run: the retry finds it closed, nothing is streamed or saved twice, the title follows', async () => {
    const run = await input('crash after close [tokens=15]');
    const handle = await environment.client.workflow.start(chatWorkflow, { workflowId: `chat-${run.responseMessageId}`, taskQueue: crashingQueue, args: [run] });
    assert.deepEqual(await handle.result(), { status: 'completed' });
    const entries = await readAllEntries(redis, createRedisKeys(config.REDIS_KEY_PREFIX).chatStream(run.streamId));
    assert.equal(entries.filter((item) => item.event.type === 'final').length, 1, 'one final event');
    assert.equal(entries.at(-1)!.event.type, 'final');
    assert.equal(await Message.countDocuments({ messageId: run.responseMessageId }), 1);
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ text: string; unfinished: boolean; error: boolean }>();
    assert.equal(reply!.text, streamedText(entries));
    assert.equal(reply!.text.split(' ').length, 15);
    assert.equal(reply!.unfinished, false);
    assert.equal(reply!.error, false);
    const history = await handle.fetchHistory();
    const activityTypes = (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    assert.deepEqual(activityTypes, ['streamTurn', 'finishRun', 'generateTitle']);
    const conversation = await mongoose.connection.db!.collection('conversations').findOne({ conversationId: run.conversationId });
    assert.ok(conversation?.title && conversation.title !== 'New Chat', `titled: ${conversation?.title}`);
  });
});
