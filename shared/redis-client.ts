import { Redis } from 'ioredis';
import { CLAIM_FENCE_SCRIPT, FENCED_APPEND_SCRIPT } from './run-stream.ts';
import { COUNT_HIT_SCRIPT, FORGIVE_HIT_SCRIPT } from './rate-limit-counter.ts';
import { RESERVE_SLOT_SCRIPT } from './run-registry.ts';

/** One configured ioredis client; callers own it and must `quit()` it. */
export function createRedisClient(uri: string, name: string): Redis {
  const redis = new Redis(uri, {
    connectionName: `durachat-${name}`,
    // Commands issued in the same tick share one round trip: token deltas and SSE reads are many and small.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 3,
  });
  // Lua commands are defined here, once, before any command: with auto-pipelining, a command defined
  // later is missing from pipelines already built ("pipeline[functionName] is not a function").
  redis.defineCommand('durachatFencedAppend', { numberOfKeys: 2, lua: FENCED_APPEND_SCRIPT });
  redis.defineCommand('durachatClaimFence', { numberOfKeys: 2, lua: CLAIM_FENCE_SCRIPT });
  redis.defineCommand('durachatReserveSlot', { numberOfKeys: 1, lua: RESERVE_SLOT_SCRIPT });
  redis.defineCommand('durachatCountHit', { numberOfKeys: 1, lua: COUNT_HIT_SCRIPT });
  redis.defineCommand('durachatForgiveHit', { numberOfKeys: 1, lua: FORGIVE_HIT_SCRIPT });
  return redis;
}
