import type { Redis } from 'ioredis';

/**
 * Counts one hit in a fixed window and gives the counter its expiry in the same step. A Lua script rather
 * than `SET NX PX` + `INCR` in a MULTI: that pair never touches a counter that already exists, so a
 * counter left without expiry (by the old INCR-then-PEXPIRE code, or by hand) would stay forever; the
 * script gives any counter without a TTL the window on its next hit. Returns `[count, ttl in ms]`.
 */
export const COUNT_HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/**
 * Takes one hit back (DECR keeps the TTL). Only an existing counter: a DECR on a counter that expired
 * meanwhile would create one without expiry.
 */
export const FORGIVE_HIT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('DECR', KEYS[1])
`;

type CounterRedis = Redis & {
  durachatCountHit(key: string, windowMs: number): Promise<[number, number]>;
  durachatForgiveHit(key: string): Promise<number>;
};

/** Fixed-window counters in Redis; the scripts are defined on every client by shared/redis-client.ts. */
export function createRateLimitCounter(redis: Redis) {
  const scripted = redis as CounterRedis;
  return {
    async hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
      const [count, ttlMs] = await scripted.durachatCountHit(key, windowMs);
      return { count, ttlMs };
    },
    async forgive(key: string): Promise<void> {
      await scripted.durachatForgiveHit(key);
    },
  };
}
export type RateLimitCounter = ReturnType<typeof createRateLimitCounter>;
