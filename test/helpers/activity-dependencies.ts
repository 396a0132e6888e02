import type { Redis } from 'ioredis';
import type { ActivityDependencies } from '../../activities/dependencies.ts';
import { createProviderRegistry } from '../../activities/providers/index.ts';
import { createBuiltinTools } from '../../activities/tools/builtin/index.ts';
import { createToolbox, type Toolbox } from '../../activities/tools/toolbox.ts';
import type { Config } from '../../shared/config.ts';
import { loadEndpointsConfig } from '../../shared/endpoints-config.ts';
import { createRedisKeys } from '../../shared/redis-keys.ts';
import { createRunRegistry } from '../../shared/run-registry.ts';
import type { TokenCounter } from '../../workers/token-counter.ts';

/**
 * The activities' dependencies as the workflow tests use them: the real clients, with writes unspaced
 * (deltas written as they come), streams that expire a minute after a run, and the built-in tools unless
 * a test brings its own toolbox.
 */
export function testActivityDependencies(options: { redis: Redis; config: Config; tokenCounter: TokenCounter; streamMaxLength: number; toolbox?: Toolbox }): ActivityDependencies {
  const keys = createRedisKeys(options.config.REDIS_KEY_PREFIX);
  return {
    redis: options.redis,
    keys,
    runs: createRunRegistry(options.redis, keys, { ttlSeconds: 60 }),
    endpoints: loadEndpointsConfig(options.config),
    streamMaxLength: options.streamMaxLength,
    streamTtlSeconds: 60,
    streamFlushIntervalMs: 0,
    redisOutageToleranceMs: 5000,
    providers: createProviderRegistry(),
    resolveEndpointCredentials: async (endpoint) => endpoint,
    countTokens: (texts, signal) => options.tokenCounter.countTokens(texts, signal),
    toolbox: options.toolbox ?? createToolbox({ builtins: createBuiltinTools() }),
  };
}
