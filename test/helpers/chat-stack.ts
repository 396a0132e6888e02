import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../shared/config.ts';
import { loadEndpointsConfig } from '../../shared/endpoints-config.ts';
import { createRedisClient } from '../../shared/redis-client.ts';
import { createRedisKeys } from '../../shared/redis-keys.ts';
import { startRunStopWatcher } from '../../shared/run-stops.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createWorkers } from '../../workers/create-workers.ts';
import { createTokenCounter } from '../../workers/token-counter.ts';
import { startMcpRuntime } from '../../workers/mcp-runtime.ts';
import { createFileRuntime } from '../../workers/file-runtime.ts';
import { startTestApp, testEnvironment, type TestApp } from './test-app.ts';
import { nodeArguments } from '../../infra/node-entry-points.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface InProcessWorker {
  stop: () => Promise<void>;
}

/** The real workers (same composition root as workers/worker.ts), run inside the test process. */
export async function startInProcessWorker(overrides: Record<string, string>): Promise<InProcessWorker> {
  const config = loadConfig(testEnvironment(overrides));
  const redis = createRedisClient(config.REDIS_URI, 'test-worker');
  const tokenCounter = createTokenCounter({ maxThreads: 1 });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const endpoints = loadEndpointsConfig(config);
  const quiet = { info: () => {}, warn: (meta: object, message: string) => process.env.TEST_CHILD_OUTPUT && console.warn(message, meta) };
  const mcp = config.WORKER_QUEUES.includes('agent') ? await startMcpRuntime({ config, endpoints, redis, log: { info: quiet.info, warn: (meta, message) => void quiet.warn(meta, message) } }) : undefined;
  const files = config.WORKER_QUEUES.includes('files') || config.WORKER_QUEUES.includes('agent') ? createFileRuntime({ config, endpoints, environment: testEnvironment(overrides) }) : undefined;
  const runStops = await startRunStopWatcher(redis, createRedisKeys(config.REDIS_KEY_PREFIX));
  const workers = await createWorkers({ config, endpoints, redis, tokenCounter, connection, mcp: mcp?.pool, files: files?.deps, runStops });
  const running = Promise.all(workers.map(({ worker }) => worker.run()));
  return {
    async stop() {
      for (const { worker } of workers) worker.shutdown();
      await running;
      await runStops.close();
      await mcp?.stop();
      await files?.close();
      await connection.close();
      await tokenCounter.close();
      await redis.quit();
    },
  };
}

/**
 * A real process from one of the entry points (workers/worker.ts, api/server.ts), for kill tests: its build,
 * as `npm start` runs it (made once per test run by test/setup/global-setup.ts, TEST_BUILD_DIR), or the
 * source through tsx with `sources` (npm start's fallback) or when a test file runs without that setup.
 */
export function spawnEntryPoint(entry: string, overrides: Record<string, string>, options: { sources?: boolean } = {}): ChildProcess {
  const child = spawn(process.execPath, nodeArguments(entry, options.sources ? undefined : process.env.TEST_BUILD_DIR || undefined), {
    cwd: root,
    env: testEnvironment({ LOG_LEVEL: 'warn', ...overrides }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.resume();
  child.stderr!.on('data', (chunk) => {
    if (process.env.TEST_CHILD_OUTPUT) process.stderr.write(`[${entry}] ${chunk}`);
  });
  return child;
}

export interface ChatStack {
  app: TestApp;
  provider: FakeProvider;
  environment: Record<string, string>;
  worker?: InProcessWorker;
  close: () => Promise<void>;
}

/** API + fake provider (+ an in-process worker unless `worker: false`), all on this file's database, prefix and task queue. */
export async function startChatStack(options: { worker?: boolean; overrides?: Record<string, string> } = {}): Promise<ChatStack> {
  const provider = await startFakeProvider();
  // The fake also speaks Anthropic's and Gemini's protocols (their SDKs add their own paths); those endpoints
  // are on with ANTHROPIC_API_KEY / GOOGLE_KEY (Bedrock's with BEDROCK_AWS_DEFAULT_REGION).
  const environment = { DEMO_PROVIDER_URL: provider.url, ANTHROPIC_BASE_URL: provider.url.replace(/\/v1$/, ''), GOOGLE_BASE_URL: provider.url.replace(/\/v1$/, ''), BEDROCK_BASE_URL: provider.url.replace(/\/v1$/, ''), CONCURRENT_MESSAGE_MAX: '20', ...options.overrides };
  const app = await startTestApp(environment);
  const worker = options.worker === false ? undefined : await startInProcessWorker(environment);
  return {
    app,
    provider,
    environment,
    worker,
    async close() {
      await worker?.stop();
      await app.close();
      await provider.close();
    },
  };
}
