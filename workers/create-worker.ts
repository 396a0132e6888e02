import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { createActivities } from '../activities/index.ts';
import type { Config } from '../shared/config.ts';
import type { EndpointsConfig, ResolvedEndpoint } from '../shared/endpoints-config.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { createRunRegistry } from '../shared/run-registry.ts';
import type { TokenCounter } from './token-counter.ts';

/**
 * The composition root of a worker: activities get their clients here. Shared by the worker process
 * and the tests, which run the same worker in-process or as a child process.
 */
export async function createChatWorker(options: {
  config: Config;
  endpoints: EndpointsConfig;
  redis: Redis;
  tokenCounter: TokenCounter;
  connection: NativeConnection;
  workerOptions?: Partial<WorkerOptions>;
}): Promise<Worker> {
  const { config, endpoints, redis } = options;
  const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
  const clients = new Map<string, OpenAI>();
  const openAIClientFor = (endpoint: ResolvedEndpoint) => {
    let client = clients.get(endpoint.name);
    if (!client) {
      // maxRetries 0: Temporal retries the activity instead, visibly, with the workflow's policy.
      client = new OpenAI({ apiKey: endpoint.apiKey, baseURL: endpoint.baseURL, maxRetries: 0, timeout: 120_000 });
      clients.set(endpoint.name, client);
    }
    return client;
  };
  const activities = createActivities({
    redis,
    keys,
    runs: createRunRegistry(redis, keys, { ttlSeconds: config.CHAT_STREAM_TTL_SECONDS }),
    endpoints,
    streamMaxLength: config.CHAT_STREAM_MAXLEN,
    streamTtlSeconds: config.CHAT_STREAM_TTL_SECONDS,
    streamFlushIntervalMs: config.CHAT_STREAM_FLUSH_MS,
    openAIClientFor,
    countTokens: (texts, signal) => options.tokenCounter.countTokens(texts, signal),
  });
  const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
  return Worker.create({
    connection: options.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: new URL('../workflows/index.ts', import.meta.url).pathname }),
    activities,
    maxConcurrentActivityTaskExecutions: 1000,
    // Cancellation reaches an activity only with a heartbeat; at most 1 s apart keeps "stop" prompt
    // (the SDK would otherwise wait 80% of the 5 s heartbeat timeout).
    maxHeartbeatThrottleInterval: '1 second',
    ...options.workerOptions,
  });
}
