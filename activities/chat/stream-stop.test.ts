/**
 * "Stop" through Redis (shared/run-stops.ts): the streaming activity stops reading the model as soon as the
 * stop is published, heartbeats at once to collect Temporal's cancellation, and ends cancelled when it comes;
 * a stop that no cancellation follows fails the attempt (retried, continuing after what was streamed). Real
 * Redis, FerretDB and fake provider; the activity runs in the Temporal SDK's activity test environment, where
 * the test plays Temporal's part (the cancellation).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, test } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { connectDatabase } from '../../shared/database.ts';
import { Message } from '../../shared/models/index.ts';
import { createRedisClient } from '../../shared/redis-client.ts';
import { createRedisKeys } from '../../shared/redis-keys.ts';
import { readEvents } from '../../shared/run-stream.ts';
import { publishRunStop, startRunStopWatcher } from '../../shared/run-stops.ts';
import { testActivityDependencies } from '../../test/helpers/activity-dependencies.ts';
import { demoTurnInput, writeCreated } from '../../test/helpers/chat-run-input.ts';
import { cleanUpTestData, testEnvironment } from '../../test/helpers/test-app.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createTokenCounter } from '../../workers/token-counter.ts';
import { startActivityHeartbeat } from '../activity-heartbeat.ts';
import { createStreamTurn } from './stream-turn.ts';

const redis = createRedisClient('redis://127.0.0.1:6379', 'stream-stop-test');
const tokenCounter = createTokenCounter({ maxThreads: 1 });
let provider: FakeProvider;
let config: ReturnType<typeof loadConfig>;

beforeAll(async () => {
  provider = await startFakeProvider();
  config = loadConfig(testEnvironment({ DEMO_PROVIDER_URL: provider.url }));
  await connectDatabase(config.MONGO_URI);
});

afterAll(async () => {
  await provider.close();
  await tokenCounter.close();
  await redis.quit();
  if (mongoose.connection.readyState === 1) await cleanUpTestData(config);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const texts = async (streamKey: string) => (await readEvents(redis, streamKey)).filter((item) => item.event.type === 'text').length;

/** Starts a slow reply (20 tokens/s for 10 s) and waits until some of it is in the stream. */
async function slowTurn(confirmWithinMs: number) {
  const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
  const stops = await startRunStopWatcher(redis, keys, { confirmWithinMs });
  const deps = { ...testActivityDependencies({ redis, config, tokenCounter, streamMaxLength: 1000 }), runStops: stops };
  const run = demoTurnInput('tell me slowly [tokens=200 rate=20]');
  const streamKey = await writeCreated(redis, config.REDIS_KEY_PREFIX, run, 120);
  const environment = new MockActivityEnvironment({ workflowExecution: { workflowId: `chat-${run.responseMessageId}`, runId: randomUUID() } });
  const heartbeats: number[] = [];
  environment.on('heartbeat', () => heartbeats.push(Date.now()));
  const settled = environment.run(createStreamTurn(deps), run).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const deadline = Date.now() + 10_000;
  while ((await texts(streamKey)) < 3 && Date.now() < deadline) await sleep(50);
  assert.ok((await texts(streamKey)) >= 3, 'the reply started streaming');
  return { keys, stops, run, streamKey, environment, heartbeats, settled };
}

test('a stop on Redis ends the reading at once and heartbeats for the cancellation; the attempt ends cancelled', async () => {
  const { keys, stops, run, streamKey, environment, heartbeats, settled } = await slowTurn(10_000);
  try {
    const stoppedAt = Date.now();
    await publishRunStop(redis, keys, run.streamId);
    // The stop is in once the heartbeats it triggers have gone out (one at once, the next 500 ms later; a regular
    // one may come between the publish and the stop); then what was already on its way lands.
    const deadline = Date.now() + 10_000;
    while (heartbeats.filter((at) => at > stoppedAt).length < 2) {
      assert.ok(Date.now() < deadline, 'the stop reached the activity');
      await sleep(20);
    }
    await sleep(200);
    const afterStop = await texts(streamKey);
    await sleep(1200);
    assert.equal(await texts(streamKey), afterStop, 'nothing more is streamed once the stop is in');
    // The regular cadence is one heartbeat per 2 s; after a stop they come at once and every 500 ms.
    assert.ok(heartbeats.filter((at) => at > stoppedAt).length >= 2, `heartbeats after the stop: ${heartbeats.filter((at) => at > stoppedAt).length}`);
    // Still running: only Temporal's cancellation ends the attempt (the workflow then closes the run).
    const pending = await Promise.race([settled, sleep(50).then(() => 'pending')]);
    assert.equal(pending, 'pending');
    environment.cancel();
    const outcome = await settled;
    assert.ok('error' in outcome && outcome.error instanceof CancelledFailure, `ended with ${JSON.stringify(outcome)}`);
    assert.ok(await Message.exists({ messageId: run.userMessage!.messageId }), 'the request is saved');
  } finally {
    await stops.close();
  }
});

test('a stop that no cancellation follows fails the attempt with a retryable error', async () => {
  const { keys, stops, run, settled } = await slowTurn(300);
  try {
    await publishRunStop(redis, keys, run.streamId);
    const outcome = await settled;
    assert.ok('error' in outcome, 'the attempt failed');
    const error = outcome.error as Error & { nonRetryable?: boolean };
    assert.match(error.message, /not cancelled within 300 ms/);
    assert.notEqual(error.nonRetryable, true);
  } finally {
    await stops.close();
  }
});

test('a stop for another run, or after the watch ended, reaches nobody', async () => {
  const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
  const stops = await startRunStopWatcher(redis, keys);
  try {
    const calls: string[] = [];
    const unwatchA = stops.watch('run-a', () => calls.push('a'));
    stops.watch('run-b', () => calls.push('b'));
    stops.watch('run-b', () => calls.push('b2'));
    await publishRunStop(redis, keys, 'run-b');
    unwatchA();
    await publishRunStop(redis, keys, 'run-a');
    await publishRunStop(redis, keys, 'run-c');
    // One subscriber gets messages in the order they were published: once this last one is in, so are the others.
    stops.watch('run-last', () => calls.push('last'));
    await publishRunStop(redis, keys, 'run-last');
    const deadline = Date.now() + 10_000;
    while (!calls.includes('last')) {
      assert.ok(Date.now() < deadline, 'the last stop arrived');
      await sleep(20);
    }
    assert.deepEqual(calls.sort(), ['b', 'b2', 'last']);
  } finally {
    await stops.close();
  }
});

test('after a stop, a cancellation that came first is thrown at once, and asking again throws the same without waiting', async () => {
  const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
  const stops = await startRunStopWatcher(redis, keys, { confirmWithinMs: 60_000 });
  const streamId = randomUUID();
  const environment = new MockActivityEnvironment();
  try {
    const outcome: { first: unknown; second: unknown; waitedMs: number } = await environment.run(async () => {
      const heartbeat = startActivityHeartbeat({ details: () => ({}), intervalMs: 2000, streamId, stops });
      try {
        await publishRunStop(redis, keys, streamId);
        while (!heartbeat.stopped) await sleep(10);
        // Temporal's cancellation arrives before the activity has got round to asking for it.
        environment.cancel();
        const started = Date.now();
        const first = await heartbeat.afterStop().catch((error: unknown) => error);
        const second = await heartbeat.afterStop().catch((error: unknown) => error);
        return { first, second, waitedMs: Date.now() - started };
      } finally {
        heartbeat.stop();
      }
    });
    assert.ok(outcome.first instanceof CancelledFailure, `threw ${String(outcome.first)}`);
    assert.equal(outcome.second, outcome.first);
    assert.ok(outcome.waitedMs < 5000, `waited ${outcome.waitedMs} ms`);
  } finally {
    await stops.close();
  }
});
