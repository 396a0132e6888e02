/**
 * streamTurn's retry after the reply had streamed whole (its heartbeat said `ended`: the worker died, or saving
 * and closing outlasted the heartbeat timeout): no model call, the run is saved and closed with the finish
 * reason the first attempt had; and closeRun called again after the end event changes nothing. Real Redis,
 * FerretDB and fake provider; the activity runs in the Temporal SDK's activity test environment.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, test } from 'vitest';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import { closeRun } from '../../shared/close-run.ts';
import { loadConfig } from '../../shared/config.ts';
import { connectDatabase } from '../../shared/database.ts';
import { Conversation, Message } from '../../shared/models/index.ts';
import { SearchOutbox } from '../../shared/models/search-outbox.ts';
import { configureSearchChangeCapture } from '../../shared/search-changes.ts';
import { createRedisClient } from '../../shared/redis-client.ts';
import { messageStepId } from '../../shared/run-events.ts';
import { appendUnfenced, readEvents } from '../../shared/run-stream.ts';
import { testActivityDependencies } from '../../test/helpers/activity-dependencies.ts';
import { demoTurnInput, writeCreated } from '../../test/helpers/chat-run-input.ts';
import { cleanUpTestData, testEnvironment } from '../../test/helpers/test-app.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createTokenCounter } from '../../workers/token-counter.ts';
import { createStreamTurn } from './stream-turn.ts';

const redis = createRedisClient('redis://127.0.0.1:6379', 'stream-turn-test');
const tokenCounter = createTokenCounter({ maxThreads: 1 });
let provider: FakeProvider;
let config: ReturnType<typeof loadConfig>;
let deps: ReturnType<typeof testActivityDependencies>;

beforeAll(async () => {
  provider = await startFakeProvider();
  config = loadConfig(testEnvironment({ DEMO_PROVIDER_URL: provider.url }));
  await connectDatabase(config.MONGO_URI);
  deps = testActivityDependencies({ redis, config, tokenCounter, streamMaxLength: 1000 });
});

afterAll(async () => {
  await provider.close();
  await tokenCounter.close();
  await redis.quit();
  if (mongoose.connection.readyState === 1) await cleanUpTestData(config);
});

/** A run whose first attempt streamed `text` whole (created, step, text events in Redis), as it left them. */
async function streamedRun(text: string): Promise<{ run: ChatRunInput; streamKey: string }> {
  const run = demoTurnInput('the question');
  const streamKey = await writeCreated(redis, config.REDIS_KEY_PREFIX, run, 120);
  const stepId = messageStepId(run.responseMessageId);
  await appendUnfenced(redis, streamKey, { seq: 2, event: { type: 'step', stepId, runId: run.responseMessageId, index: 0, kind: 'message' } }, 120);
  await appendUnfenced(redis, streamKey, { seq: 3, event: { type: 'text', stepId, text } }, 120);
  return { run, streamKey };
}

test('a retry after the reply streamed whole calls no model: it saves the request and reply and closes the run', async () => {
  const { run, streamKey } = await streamedRun('A finished answer, cut at the length limit');
  const before = provider.requestCount();
  const environment = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { entries: [], ended: 'length' }, workflowExecution: { workflowId: `chat-${run.responseMessageId}`, runId: randomUUID() } });
  const result = await environment.run(createStreamTurn(deps), run);
  assert.deepEqual(result, { finishReason: 'length', closed: true, replyExcerpt: 'A finished answer, cut at the length limit' });
  assert.equal(provider.requestCount(), before, 'no model call');
  const events = await readEvents(redis, streamKey);
  assert.equal(events.filter((item) => item.event.type === 'final').length, 1);
  assert.equal(events.at(-1)!.event.type, 'final');
  const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ text: string; finish_reason: string; unfinished: boolean }>();
  assert.equal(reply!.text, 'A finished answer, cut at the length limit');
  assert.equal(reply!.finish_reason, 'length');
  assert.equal(reply!.unfinished, false);
  assert.ok(await Message.exists({ messageId: run.userMessage!.messageId }), 'the request is saved');
});

test('closing a run again after its end event changes nothing: the retry knows less than the first close', async () => {
  const { run, streamKey } = await streamedRun('Cut short here');
  const closeDeps = { ...deps, countTokens: (texts: string[]) => deps.countTokens(texts) };
  await closeRun(closeDeps, run, { status: 'completed', finishReason: 'length' });
  const again = await closeRun(closeDeps, run, { status: 'error', errorMessage: 'a retry that knows nothing' });
  assert.equal(again.replyExcerpt, 'Cut short here');
  const events = await readEvents(redis, streamKey);
  assert.deepEqual(events.map((item) => item.event.type), ['created', 'step', 'text', 'final']);
  const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ finish_reason: string; unfinished: boolean; error: boolean }>();
  assert.equal(reply!.finish_reason, 'length');
  assert.equal(reply!.unfinished, false);
  assert.equal(reply!.error, false);
});

for (const generateTitle of [false, true]) {
  test(`a turn records its search changes once, as the run closes${generateTitle ? ' and after the title' : ''}: the request, the reply and the new conversation in one outbox insert`, async () => {
    const run = demoTurnInput('what is an okapi?', { generateTitle });
    await writeCreated(redis, config.REDIS_KEY_PREFIX, run, 120);
    const inserts: unknown[][] = [];
    mongoose.set('debug', (collection: string, method: string, documents: unknown) => {
      if (collection === 'searchoutbox' && method === 'insertMany') inserts.push(documents as unknown[]);
    });
    // Capture on without a wake-up: entries are written, no indexer is signalled.
    configureSearchChangeCapture({ wakeDelayMs: 0 });
    let result: { closed: boolean; title?: string };
    try {
      const environment = new MockActivityEnvironment({ workflowExecution: { workflowId: `chat-${run.responseMessageId}`, runId: randomUUID() } });
      result = (await environment.run(createStreamTurn(deps), run)) as { closed: boolean; title?: string };
    } finally {
      configureSearchChangeCapture(undefined);
      mongoose.set('debug', false);
    }
    assert.equal(result.closed, true);
    if (generateTitle) {
      assert.ok(result.title && result.title !== 'New Chat', `titled in the turn (${result.title})`);
      assert.equal((await Conversation.findOne({ conversationId: run.conversationId }).lean<{ title: string }>())?.title, result.title);
    }
    assert.equal(inserts.length, 1, `one outbox insert per turn, not ${inserts.length}`);
    const recorded = await SearchOutbox.find({ user: run.userId }, { _id: 0, kind: 1, id: 1 }).lean<Array<{ kind: string; id: string }>>();
    assert.deepEqual(
      recorded.map((entry) => `${entry.kind}:${entry.id}`).sort(),
      [`conversation:${run.conversationId}`, `message:${run.responseMessageId}`, `message:${run.userMessage!.messageId}`].sort(),
    );
  });
}
