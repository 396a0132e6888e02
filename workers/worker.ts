/**
 * The worker process: serves the task queues named by WORKER_QUEUES (default: every kind of run). Scale
 * by starting more of them, on this machine or others, each with the queues it should serve.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createSearchEngine } from '../activities/search/create-search-engine.ts';
import { ConfigError } from '../shared/config.ts';
import { configureSearchChangeCapture, stopSearchChangeCapture } from '../shared/search-changes.ts';
import { describeSearchConfig, loadSearchConfig } from '../shared/search-config.ts';
import { createSearchIndexerWaker } from '../shared/search-indexer-client.ts';
import { startSearchRuntime } from './search-runtime.ts';
import { loadConfigOrExit } from '../shared/config.ts';
import { connectDatabase, disconnectDatabase } from '../shared/database.ts';
import { loadEndpointsConfigOrExit } from '../shared/endpoints-config.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { startRunStopWatcher } from '../shared/run-stops.ts';
import { startWorkerHeartbeat } from '../shared/worker-heartbeat.ts';
import { createWorkers } from './create-workers.ts';
import { startMcpRuntime } from './mcp-runtime.ts';
import { createFileRuntime } from './file-runtime.ts';
import { createTokenCounter } from './token-counter.ts';

const config = loadConfigOrExit();
const endpoints = loadEndpointsConfigOrExit(config);
await connectDatabase(config.MONGO_URI);
const redis = createRedisClient(config.REDIS_URI, 'worker');
const tokenCounter = createTokenCounter({ maxThreads: config.TOKENIZER_THREADS });
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
// MCP connections live where agent tools are called: only in processes that serve agent runs.
const mcp = config.WORKER_QUEUES.includes('agent') ? await startMcpRuntime({ config, endpoints, redis }) : undefined;
const files = config.WORKER_QUEUES.includes('files') || config.WORKER_QUEUES.includes('agent') ? createFileRuntime({ config, endpoints }) : undefined;
// Search (issue 12): every worker records its writes for the index when an engine is configured (a chat
// reply is saved here); workers serving the search queue also index, reconcile and reindex.
const searchEngine = createSearchEngine(loadSearchConfigOrExit());
const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
const searchCapture = searchEngine ? { wakeUp: createSearchIndexerWaker(client, config.TASK_QUEUES.search) } : undefined;
if (searchCapture) configureSearchChangeCapture(searchCapture);
const search = searchEngine && config.WORKER_QUEUES.includes('search') ? await startSearchRuntime({ config, client, engine: searchEngine }) : undefined;
// Only processes that stream replies (chat, agent) listen for stops.
const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
const runStops = config.WORKER_QUEUES.some((kind) => kind === 'chat' || kind === 'agent') ? await startRunStopWatcher(redis, keys, { log: (message) => console.warn(message) }) : undefined;
const workers = await createWorkers({ config, endpoints, redis, tokenCounter, connection, mcp: mcp?.pool, files: files?.deps, search, runStops });
const heartbeat = startWorkerHeartbeat(redis, keys, { workerId: randomUUID(), queues: workers.map((entry) => entry.taskQueue) });

function loadSearchConfigOrExit() {
  try {
    const searchConfig = loadSearchConfig(process.env);
    console.log(`search: ${describeSearchConfig(searchConfig)}`);
    return searchConfig;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining (running activities get ${config.WORKER_SHUTDOWN_GRACE_MS} ms, then hand over to another worker)`);
    for (const { worker } of workers) worker.shutdown();
  });
}
console.log(`worker serving ${workers.map((entry) => `${entry.kind} (${entry.taskQueue})`).join(', ')} on ${config.TEMPORAL_ADDRESS}`);
await Promise.all(workers.map(({ worker }) => worker.run()));
await heartbeat.stop();
await runStops?.close();
await mcp?.stop();
await files?.close();
if (searchCapture) await stopSearchChangeCapture(searchCapture);
await searchEngine?.close();
await connection.close();
await tokenCounter.close();
await redis.quit();
await disconnectDatabase();
console.log('worker stopped');
