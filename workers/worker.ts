/**
 * The worker process: serves the task queues named by WORKER_QUEUES (default: every kind of run). Scale
 * by starting more of them, on this machine or others, each with the queues it should serve.
 */
import { randomUUID } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { loadConfigOrExit } from '../shared/config.ts';
import { connectDatabase, disconnectDatabase } from '../shared/database.ts';
import { loadEndpointsConfigOrExit } from '../shared/endpoints-config.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
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
const workers = await createWorkers({ config, endpoints, redis, tokenCounter, connection, mcp: mcp?.pool, files: files?.deps });
const heartbeat = startWorkerHeartbeat(redis, createRedisKeys(config.REDIS_KEY_PREFIX), { workerId: randomUUID(), queues: workers.map((entry) => entry.taskQueue) });

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
await mcp?.stop();
await files?.close();
await connection.close();
await tokenCounter.close();
await redis.quit();
await disconnectDatabase();
console.log('worker stopped');
