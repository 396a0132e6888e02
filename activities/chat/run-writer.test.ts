/**
 * The run writer against a real Redis: a stream lost while an attempt writes is rebuilt with the same ids,
 * and an attempt that starts on an empty stream rebuilds it from its predecessor's heartbeat.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, test } from 'vitest';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import { createRedisClient } from '../../shared/redis-client.ts';
import { createRedisKeys } from '../../shared/redis-keys.ts';
import { foldReply } from '../../shared/run-content.ts';
import { messageStepId } from '../../shared/run-events.ts';
import { createRunRegistry } from '../../shared/run-registry.ts';
import { readEvents } from '../../shared/run-stream.ts';
import { demoTurnInput } from '../../test/helpers/chat-run-input.ts';
import { encodeProgress, openRunWriter } from './run-writer.ts';

const redis = createRedisClient('redis://127.0.0.1:6379', 'run-writer-test');
const prefix = `durachat-test:run-writer-${randomUUID().slice(0, 8)}:`;
const keys = createRedisKeys(prefix);
const runs = createRunRegistry(redis, keys, { ttlSeconds: 60 });
const silentLog = { info: () => {}, warn: () => {} };

afterAll(async () => {
  const found = await redis.keys(`${prefix}*`);
  if (found.length) await redis.del(...found);
  await redis.quit();
});

const runInput = (): ChatRunInput => demoTurnInput('hi', { userId: 'user-1' });

const open = (input: ChatRunInput, owner: string, previous?: ReturnType<typeof encodeProgress>) =>
  openRunWriter({ redis, keys, runs, input, owner, workflowId: `chat-${input.responseMessageId}`, lifetimeSeconds: 120, redisOutageToleranceMs: 2000, previous, log: silentLog });

test('a stream lost mid-run (its fence gone) is written again with the same ids, and the run record too', async () => {
  const input = runInput();
  const stepId = messageStepId(input.responseMessageId);
  const writer = await open(input, 'attempt-1');
  await writer.append({ type: 'text', stepId, text: 'Hello' });
  await writer.append({ type: 'text', stepId, text: ' world' });
  // What a Redis restart without persistence leaves: nothing.
  await redis.del(keys.chatStream(input.streamId), keys.streamWriterFence(input.streamId), keys.runInfo(input.streamId));
  await writer.append({ type: 'text', stepId, text: '!' });
  const items = await readEvents(redis, keys.chatStream(input.streamId));
  assert.deepEqual(items.map((item) => item.seq), [1, 2, 3, 4]);
  assert.equal(foldReply(items.map((item) => item.event)).text, 'Hello world!');
  assert.equal((await runs.get(input.streamId))?.status, 'running');
});

test('an attempt that starts on an empty stream rebuilds it from the previous attempt\'s heartbeat', async () => {
  const input = runInput();
  const stepId = messageStepId(input.responseMessageId);
  const first = await open(input, 'attempt-1');
  await first.append({ type: 'text', stepId, text: 'One' });
  await first.append({ type: 'reasoning', stepId, text: 'hmm' });
  await first.append({ type: 'text', stepId, text: ' two' });
  const heartbeat = JSON.parse(JSON.stringify(first.progress()));
  await redis.del(keys.chatStream(input.streamId), keys.streamWriterFence(input.streamId));
  const second = await open(input, 'attempt-2', heartbeat);
  assert.deepEqual(second.events.map((item) => item.seq), [1, 2, 3, 4]);
  const items = await readEvents(redis, keys.chatStream(input.streamId));
  assert.deepEqual(items, second.events);
  assert.equal(foldReply(items.map((item) => item.event)).text, 'One two');
  // The earlier attempt is fenced out from here on.
  await assert.rejects(first.append({ type: 'text', stepId, text: ' stale' }), /newer attempt/);
});

test('heartbeatFrom keeps the heartbeat to one step\'s events; a step id other than the reply\'s first survives the round trip', async () => {
  const input = runInput();
  const first = messageStepId(input.responseMessageId);
  const writer = await open(input, 'attempt-1');
  await writer.append({ type: 'text', stepId: first, text: 'step one' });
  writer.heartbeatFrom(writer.lastSeq + 1);
  await writer.append({ type: 'text', stepId: `${first}_2_0`, text: 'step two' });
  const heartbeat = JSON.parse(JSON.stringify(writer.progress()));
  assert.equal(heartbeat.entries.length, 1, 'only the later step');
  await redis.del(keys.chatStream(input.streamId), keys.streamWriterFence(input.streamId));
  const successor = await open(input, 'attempt-2', heartbeat);
  assert.deepEqual(successor.events.map((item) => item.seq), [1, 3]);
  assert.deepEqual(successor.events[1]!.event, { type: 'text', stepId: `${first}_2_0`, text: 'step two' });
});
