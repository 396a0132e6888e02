import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import mongoose from 'mongoose';
import { buildServer } from '../../api/build-server.ts';
import { loadConfig, type Config } from '../../shared/config.ts';
import { connectDatabase } from '../../shared/database.ts';
import { loadEndpointsConfig } from '../../shared/endpoints-config.ts';
import { createRedisClient } from '../../shared/redis-client.ts';
import { createTemporalClient } from '../../shared/temporal-client.ts';

/** Per test process: its own database and Redis prefix, so test files can run side by side. */
export const testRunId = randomUUID().slice(0, 8);

export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string | undefined> {
  const mongoBase = process.env.TEST_MONGO_URI ?? 'mongodb://127.0.0.1:27027/';
  return {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MONGO_URI: `${mongoBase.replace(/\/?$/, '/')}durachat_test_${testRunId}`,
    REDIS_KEY_PREFIX: `durachat-test:${testRunId}:`,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:17233',
    TEMPORAL_TASK_QUEUE: `durachat-test-${testRunId}`,
    HOST: '127.0.0.1',
    PORT: '0',
    LOGIN_MAX: '1000',
    // Tests that count agents would see it; test/agent-chat.test.ts turns it on.
    DEMO_AGENT: 'false',
    // Each test process its own vector index (LanceDB folder), removed by cleanUpTestData.
    VECTOR_INDEX_DIR: path.join(os.tmpdir(), 'durachat-test-vectors', testRunId),
    REGISTER_MAX: '1000',
    ...overrides,
  };
}

export interface TestApp {
  baseUrl: string;
  config: Config;
  /** The Fastify instance, for looking at process-side state (e.g. `streamHub.stats()`). */
  server: FastifyInstance;
  close: () => Promise<void>;
}

export async function startTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig(testEnvironment(overrides));
  if (mongoose.connection.readyState !== 1) await connectDatabase(config.MONGO_URI);
  // Named after this file's run id (its duplicates keep the name), so a test can count its own connections.
  const redis = createRedisClient(config.REDIS_URI, `test-api-${testRunId}`);
  const temporal = createTemporalClient(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
  const server = await buildServer({ config, endpoints: loadEndpointsConfig(config), redis, temporal: temporal.client }, { logger: config.LOG_LEVEL === 'silent' ? false : { level: config.LOG_LEVEL } });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    server,
    async close() {
      await server.close();
      await redis.quit();
      await temporal.connection.close();
    },
  };
}

/** Drops this process's database and Redis keys; call once in the file's `after`. */
export async function cleanUpTestData(config: Config) {
  if (mongoose.connection.readyState === 1) {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  }
  const redis = createRedisClient(config.REDIS_URI, 'test-cleanup');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.REDIS_KEY_PREFIX}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
  await rm(path.join(os.tmpdir(), 'durachat-test-vectors', testRunId), { recursive: true, force: true });
}
