import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimitError } from '../../shared/errors.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';

export interface RateLimitPreset {
  name: string;
  max: number;
  windowMinutes: number;
  message: string;
}

/**
 * Fixed-window counter per preset and client IP in Redis, so every API process shares one count.
 * Returns a preHandler; the 429 carries Retry-After.
 */
export function createIpRateLimit(redis: Redis, keys: RedisKeys, preset: RateLimitPreset) {
  const windowMs = preset.windowMinutes * 60_000;
  return async function ipRateLimit(request: FastifyRequest) {
    const key = keys.rateLimit(preset.name, request.ip);
    const [[, count], [, ttl]] = (await redis.multi().incr(key).pttl(key).exec()) as [[null, number], [null, number]];
    if (ttl < 0) await redis.pexpire(key, windowMs);
    if (count > preset.max) {
      const retryAfterSeconds = Math.max(1, Math.ceil((ttl > 0 ? ttl : windowMs) / 1000));
      request.log.warn({ preset: preset.name, ip: request.ip, count }, 'rate limit exceeded');
      throw new RateLimitError(preset.message, retryAfterSeconds);
    }
  };
}
