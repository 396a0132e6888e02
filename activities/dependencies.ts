import type { Redis } from 'ioredis';
import type { BalanceConfig } from '../shared/balance-config.ts';
import type { EndpointsConfig, ResolvedEndpoint } from '../shared/endpoints-config.ts';
import type { RedisKeys } from '../shared/redis-keys.ts';
import type { RunRegistry } from '../shared/run-registry.ts';
import type { RunStops } from '../shared/run-stops.ts';
import type { ProviderRegistry } from './providers/index.ts';
import type { Toolbox } from './tools/toolbox.ts';
import type { FileSearch } from './files/index/file-search.ts';
import type { FileStorages } from './files/storage/create-file-storage.ts';

/** What writes a run's stream and closes runs. */
export interface RunStreamDependencies {
  redis: Redis;
  keys: RedisKeys;
  runs: RunRegistry;
  /** Entries a stream should stay under: deltas are batched harder as it nears this (it is never trimmed). */
  streamMaxLength: number;
  streamTtlSeconds: number;
  /** Minimum spacing of delta writes per stream (tokens arriving meanwhile are joined). */
  streamFlushIntervalMs: number;
  /** How long a writer rides out a Redis outage before the attempt fails (and Temporal retries it). */
  redisOutageToleranceMs: number;
  /** Token accounting (librechat.yaml `balance:`): closing a run charges it; absent means off. */
  balance?: BalanceConfig;
  /** "Stop" through Redis, ahead of Temporal's cancellation (shared/run-stops.ts); without it a stop waits for the next heartbeat. */
  runStops?: RunStops;
}

/** What model calls need. */
export interface ModelDependencies {
  endpoints: EndpointsConfig;
  providers: ProviderRegistry;
  /**
   * The endpoint as a provider call needs it: for `user_provided` endpoints, with this user's own key (and
   * base URL) read and decrypted now (activities/providers/endpoint-credentials.ts); others unchanged.
   */
  resolveEndpointCredentials: (endpoint: ResolvedEndpoint, userId: string) => Promise<ResolvedEndpoint>;
  /** Token counts, computed on the worker's Piscina pool. */
  countTokens: (texts: string[], signal?: AbortSignal) => Promise<number[]>;
  /** Where uploaded files' bytes are read back: images attached to a message go to the model (activities/chat/attached-files.ts). */
  fileStorages?: FileStorages;
}

/** The chat activities' dependencies, built once by the worker process (workers/create-workers.ts) and injected. */
export type ChatActivityDependencies = RunStreamDependencies & ModelDependencies;

/** Agent runs: a chat turn's clients plus the tools (built-in, and the worker's MCP connections). */
export type AgentActivityDependencies = ChatActivityDependencies & {
  toolbox: Toolbox;
  /** The `file_search` tool's search (the worker's vector index); absent where files are not served. */
  fileSearch?: FileSearch;
};

/** Everything any activity group needs; each group takes only its part. */
export type ActivityDependencies = AgentActivityDependencies;
