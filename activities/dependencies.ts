import type { Redis } from 'ioredis';
import type OpenAI from 'openai';
import type { EndpointsConfig, ResolvedEndpoint } from '../shared/endpoints-config.ts';
import type { RedisKeys } from '../shared/redis-keys.ts';
import type { RunRegistry } from '../shared/run-registry.ts';

/** Everything activities touch, built once by the worker process (workers/chat-worker.ts) and injected. */
export interface ActivityDependencies {
  redis: Redis;
  keys: RedisKeys;
  runs: RunRegistry;
  endpoints: EndpointsConfig;
  streamMaxLength: number;
  streamTtlSeconds: number;
  /** Minimum spacing of delta writes per stream (tokens arriving meanwhile are joined). */
  streamFlushIntervalMs: number;
  /** An OpenAI SDK client for an endpoint (SDK retries off: Temporal owns retrying). */
  openAIClientFor: (endpoint: ResolvedEndpoint) => OpenAI;
  /** Token counts, computed on the worker's Piscina pool. */
  countTokens: (texts: string[], signal?: AbortSignal) => Promise<number[]>;
}
