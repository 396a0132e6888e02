/**
 * The MCP directory in real Redis: worker entries merge (best state, freshest tools), stale ones are ignored,
 * reinitialize requests reach subscribers and their answers are read back.
 */
import assert from 'node:assert/strict';
import { afterAll, test } from 'vitest';
import {
  directoryState,
  publishMcpDirectory,
  readMcpDirectory,
  readMcpReinitializeResult,
  recordMcpReinitializeResult,
  removeMcpDirectoryEntry,
  requestMcpReinitialize,
} from '../activities/tools/mcp/mcp-directory.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { testEnvironment } from './helpers/test-app.ts';

const environment = testEnvironment();
const redis = createRedisClient(environment.REDIS_URI ?? 'redis://127.0.0.1:6379', 'test-mcp-directory');
const keys = createRedisKeys(`${environment.REDIS_KEY_PREFIX}mcp-directory-test:`);
afterAll(async () => {
  await redis.del(keys.mcpDirectory);
  await redis.quit();
});

const tool = (name: string) => ({ name, description: `${name} tool`, parameters: { type: 'object' } });

test('entries of several workers merge; a stale entry is ignored; a removed one is gone', async () => {
  await publishMcpDirectory(redis, keys, 'worker-a', { servers: { tools: { state: 'error', tools: [] }, other: { state: 'connected', tools: [tool('x')] } }, users: { u1: { personal: 'connecting' } } });
  await publishMcpDirectory(redis, keys, 'worker-b', { servers: { tools: { state: 'connected', tools: [tool('echo')] }, other: { state: 'disconnected', tools: [] } }, users: { u1: { personal: 'connected' }, u2: { personal: 'error' } } });
  // A worker that stopped refreshing a while ago.
  await redis.hset(keys.mcpDirectory, 'worker-gone', JSON.stringify({ updatedAt: Date.now() - 120_000, servers: { ghost: { state: 'connected', tools: [tool('boo')] } }, users: {} }));

  const directory = await readMcpDirectory(redis, keys);
  assert.equal(directory.workers, 2);
  assert.deepEqual(directory.servers, { tools: { state: 'connected', tools: [tool('echo')] }, other: { state: 'connected', tools: [tool('x')] } });
  assert.deepEqual(directory.users, { u1: { personal: 'connected' }, u2: { personal: 'error' } });
  assert.equal(directoryState(directory, 'personal', 'u2', true), 'error');
  assert.equal(directoryState(directory, 'personal', 'u3', true), 'disconnected');
  assert.equal(directoryState(directory, 'tools', 'u3', false), 'connected');
  assert.ok((await redis.ttl(keys.mcpDirectory)) > 0, 'the directory expires when no worker refreshes it');

  await removeMcpDirectoryEntry(redis, keys, 'worker-b');
  const after = await readMcpDirectory(redis, keys);
  assert.deepEqual(after.servers.tools, { state: 'error', tools: [] });
});

test('a reinitialize request reaches every subscriber; the first answer stands', async () => {
  const subscriber = redis.duplicate();
  const received: string[] = [];
  subscriber.on('message', (_channel: string, message: string) => received.push(message));
  await subscriber.subscribe(keys.mcpReinitialize);
  try {
    assert.equal(await requestMcpReinitialize(redis, keys, { requestId: 'r1', serverName: 'tools', userId: 'u1' }), 1);
    const deadline = Date.now() + 2000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(received.map((message) => JSON.parse(message)), [{ requestId: 'r1', serverName: 'tools', userId: 'u1' }]);
    assert.equal(await readMcpReinitializeResult(redis, keys, 'r1'), undefined);
    await recordMcpReinitializeResult(redis, keys, 'r1', { success: true, message: 'ok' });
    await recordMcpReinitializeResult(redis, keys, 'r1', { success: false, message: 'late failure' });
    assert.deepEqual(await readMcpReinitializeResult(redis, keys, 'r1'), { success: true, message: 'ok' });
  } finally {
    await subscriber.quit();
    await redis.del(keys.mcpReinitializeResult('r1'));
  }
});
