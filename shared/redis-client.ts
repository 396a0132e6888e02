import { Redis } from 'ioredis';

/** One configured ioredis client; callers own it and must `quit()` it. */
export function createRedisClient(uri: string, name: string): Redis {
  return new Redis(uri, {
    connectionName: `durachat-${name}`,
    // Commands issued in the same tick share one round trip: token deltas and SSE reads are many and small.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 3,
  });
}
