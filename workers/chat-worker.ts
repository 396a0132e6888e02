/** The worker process: runs chat workflows and their activities. Scale by starting more of them. */
import { NativeConnection } from '@temporalio/worker';
import { loadConfigOrExit } from '../shared/config.ts';
import { connectDatabase, disconnectDatabase } from '../shared/database.ts';
import { loadEndpointsConfigOrExit } from '../shared/endpoints-config.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createChatWorker } from './create-worker.ts';
import { createTokenCounter } from './token-counter.ts';

const config = loadConfigOrExit();
const endpoints = loadEndpointsConfigOrExit(config);
await connectDatabase(config.MONGO_URI);
const redis = createRedisClient(config.REDIS_URI, 'worker');
const tokenCounter = createTokenCounter();
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const worker = await createChatWorker({ config, endpoints, redis, tokenCounter, connection });

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => worker.shutdown());
console.log(`worker polling task queue ${config.TEMPORAL_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS}`);
await worker.run();
await connection.close();
await tokenCounter.close();
await redis.quit();
await disconnectDatabase();
