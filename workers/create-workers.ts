import { NativeConnection, Worker, bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import type { Redis } from 'ioredis';
import { createAgentActivities } from '../activities/agent/index.ts';
import type { FileActivityDependencies } from '../activities/files/file-dependencies.ts';
import { createFileActivities } from '../activities/files/index.ts';
import { createFileProgressReporter } from '../activities/files/file-progress-reporter.ts';
import { createFileSearch } from '../activities/files/index/file-search.ts';
import { createSearchActivities, type SearchActivityDependencies } from '../activities/search/index.ts';
import { createFileStorages } from '../activities/files/storage/create-file-storage.ts';
import { createBackgroundActivities, createChatActivities } from '../activities/chat/index.ts';
import type { ActivityDependencies } from '../activities/dependencies.ts';
import { createBuiltinTools } from '../activities/tools/builtin/index.ts';
import { createToolbox, type McpToolSource } from '../activities/tools/toolbox.ts';
import { createEndpointCredentialResolver } from '../activities/providers/endpoint-credentials.ts';
import type { RunStops } from '../shared/run-stops.ts';
import { createProviderRegistry } from '../activities/providers/index.ts';
import { createCredentialCipher } from '../shared/credential-cipher.ts';
import type { Config } from '../shared/config.ts';
import { loadBalanceConfig } from '../shared/balance-config.ts';
import type { EndpointsConfig } from '../shared/endpoints-config.ts';
import { loadFileEnvironment } from '../shared/file-config.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { createRunRegistry } from '../shared/run-registry.ts';
import { workflowBundleOptions } from './workflow-bundle-options.ts';
import type { TokenCounter } from './token-counter.ts';

export type RunKind = Config['WORKER_QUEUES'][number];

/** The agents' file_search over the worker's vector index, questions embedded with the files' model. */
function fileSearchOf(files: FileActivityDependencies) {
  const endpoint = files.embeddingsEndpoint;
  if (!endpoint && !files.index.ingestsRawFiles) return undefined;
  return createFileSearch({
    index: files.index,
    embedQuery: async (text, signal) => (await files.embedder.embed({ endpoint: endpoint!, model: files.embeddingsModel, dimensions: files.embeddingsDimensions, inputs: [text], signal })).vectors[0]!,
  });
}

function requireFiles(files: FileActivityDependencies | undefined): FileActivityDependencies {
  if (!files) throw new Error('createWorkers: serving the files queue needs `files` (workers/file-runtime.ts)');
  return files;
}

/** The bundler's progress lines are noise in a worker's log; its warnings and errors are kept. */
const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
  log: () => undefined,
};

/**
 * The composition root of a worker process: activities get their clients here, and one Temporal Worker
 * is made per kind of run it serves (WORKER_QUEUES), each on its own task queue, so interactive replies
 * never wait behind background work. Shared by workers/worker.ts and the tests.
 */
export async function createWorkers(options: {
  config: Config;
  endpoints: EndpointsConfig;
  redis: Redis;
  tokenCounter: TokenCounter;
  connection: NativeConnection;
  kinds?: RunKind[];
  workerOptions?: Partial<WorkerOptions>;
  /** The process's MCP connections (agent runs' MCP tools); without it agents have the built-in tools only. */
  mcp?: McpToolSource;
  /** What the file activities need (workers/file-runtime.ts); required when serving the files queue. */
  files?: FileActivityDependencies;
  /** The search engine and the indexer's wake-up (workers/search-runtime.ts); without it the search queue is not served. */
  search?: SearchActivityDependencies;
  /** "Stop" through Redis (shared/run-stops.ts); without it a stop reaches a streaming activity with its next heartbeat. */
  runStops?: RunStops;
}): Promise<Array<{ kind: RunKind; taskQueue: string; worker: Worker }>> {
  const { config, endpoints, redis } = options;
  const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
  const deps: ActivityDependencies = {
    redis,
    keys,
    runs: createRunRegistry(redis, keys, { ttlSeconds: config.CHAT_STREAM_TTL_SECONDS }),
    endpoints,
    providers: createProviderRegistry(),
    resolveEndpointCredentials: createEndpointCredentialResolver(createCredentialCipher(config.CREDS_KEY), { allowPrivateBaseURL: config.USER_BASE_URL_ALLOW_PRIVATE }),
    streamMaxLength: config.CHAT_STREAM_MAXLEN,
    streamTtlSeconds: config.CHAT_STREAM_TTL_SECONDS,
    streamFlushIntervalMs: config.CHAT_STREAM_FLUSH_MS,
    redisOutageToleranceMs: config.REDIS_OUTAGE_TOLERANCE_MS,
    runStops: options.runStops,
    balance: loadBalanceConfig(config),
    countTokens: (texts, signal) => options.tokenCounter.countTokens(texts, signal),
    toolbox: createToolbox({ builtins: createBuiltinTools(), mcp: options.mcp }),
    fileSearch: options.files ? fileSearchOf(options.files) : undefined,
    // Images attached to messages are read back from storage by the reply activities (built on first use).
    fileStorages: options.files?.storages ?? createFileStorages({ dataDir: config.DATA_DIR, environment: loadFileEnvironment(process.env) }),
  };
  // The search queue is in the default list; a deployment without a search engine simply does not serve it.
  const kinds = (options.kinds ?? config.WORKER_QUEUES).filter((kind) => kind !== 'search' || options.search);
  const bundlePath = config.WORKFLOW_BUNDLE_PATH;
  // Both workflow queues (chat, agent) run the same bundle: built once here when none was built ahead.
  const needsWorkflows = kinds.includes('chat') || kinds.includes('agent') || kinds.includes('files') || kinds.includes('search');
  const workflowSource = bundlePath
    ? { workflowBundle: { codePath: bundlePath } }
    : needsWorkflows
      ? { workflowBundle: await bundleWorkflowCode({ ...workflowBundleOptions, logger: quietBundlerLogger }) }
      : {};
  const common: Partial<WorkerOptions> = {
    connection: options.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    // Heartbeats go out as the activities send them (every 2 s while streaming, more often right after a
    // stop: activities/activity-heartbeat.ts), at most one a second; the SDK would otherwise hold them back
    // to 80% of the heartbeat timeout.
    maxHeartbeatThrottleInterval: '1 second',
    // SIGTERM: stop polling, let running activities finish this long, then cancel them; a cancelled
    // streamReply is retried on another worker and continues after what it streamed.
    shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_MS,
    // A workflow cached on a worker that died has its next task on that worker's sticky queue; after this
    // long unclaimed it goes to the shared queue and another worker replays it. The SDK's 10 s default
    // held a run's final event 10 s after its last token once a worker was killed (bench/README.md,
    // scale-out). Not much shorter: a live but busy worker (all workflow task slots taken in a burst) whose
    // sticky task times out has the whole history replayed elsewhere, adding load when it is already high.
    stickyQueueScheduleToStartTimeout: '3 seconds',
  };
  const workers: Array<{ kind: RunKind; taskQueue: string; worker: Worker }> = [];
  for (const kind of kinds) {
    const taskQueue = config.TASK_QUEUES[kind];
    const worker =
      kind === 'chat'
        ? // Half the pollers on the shared queue, not the SDK's fifth: a chat turn has two workflow tasks, and its first
          // always comes from the shared queue (the second from this worker's sticky one). With two shared-queue
          // pollers, 50 new chats at once waited for them: TTFT p99 2.7–2.9 s, against 1.25–1.5 s with five
          // (bench/README.md, "Temporal's garbage collector, and one chat phase by phase").
          await Worker.create({ ...common, connection: options.connection, taskQueue, ...workflowSource, activities: createChatActivities(deps), maxConcurrentActivityTaskExecutions: 1000, nonStickyToStickyPollRatio: 1, ...options.workerOptions })
        : kind === 'agent'
          ? // Tool calls may wait on slow servers for long: many slots, each nearly idle.
            await Worker.create({ ...common, connection: options.connection, taskQueue, ...workflowSource, activities: { ...createChatActivities(deps), ...createAgentActivities(deps) }, maxConcurrentActivityTaskExecutions: 1000, ...options.workerOptions })
          : kind === 'files'
            ? // Extraction is CPU work on one pool thread: a few files at a time; the rest wait in Temporal, visibly.
              await Worker.create({ ...common, connection: options.connection, taskQueue, ...workflowSource, activities: createFileActivities({ ...requireFiles(options.files), progress: createFileProgressReporter({ redis, keys, endedTtlSeconds: config.CHAT_STREAM_TTL_SECONDS }) }), maxConcurrentActivityTaskExecutions: 4, ...options.workerOptions })
            : kind === 'search'
              ? // One indexer drains at a time; the slots are for the reconciliation and a reindex beside it.
                await Worker.create({ ...common, connection: options.connection, taskQueue, ...workflowSource, activities: createSearchActivities(options.search!), maxConcurrentActivityTaskExecutions: 4, ...options.workerOptions })
              : await Worker.create({ ...common, connection: options.connection, taskQueue, activities: createBackgroundActivities(deps), maxConcurrentActivityTaskExecutions: 50, ...options.workerOptions });
    workers.push({ kind, taskQueue, worker });
  }
  return workers;
}
