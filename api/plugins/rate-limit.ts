import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimitError } from '../../shared/errors.ts';
import { createRateLimitCounter } from '../../shared/rate-limit-counter.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';

export interface RateLimitPreset {
  name: string;
  max: number;
  windowMinutes: number;
  message: string;
}

function retryAfterSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/**
 * Fixed-window counter per preset and client IP in Redis, so every API process shares one count.
 * `request.ip` is the socket address unless the socket is a proxy listed in TRUST_PROXY
 * (api/build-server.ts). Returns a preHandler; the 429 carries Retry-After.
 */
export function createIpRateLimit(redis: Redis, keys: RedisKeys, preset: RateLimitPreset) {
  const counter = createRateLimitCounter(redis);
  const windowMs = preset.windowMinutes * 60_000;
  return async function ipRateLimit(request: FastifyRequest) {
    const { count, ttlMs } = await counter.hit(keys.rateLimit(preset.name, request.ip), windowMs);
    if (count > preset.max) {
      request.log.warn({ preset: preset.name, ip: request.ip, count }, 'rate limit exceeded');
      throw new RateLimitError(preset.message, retryAfterSeconds(ttlMs));
    }
  };
}

/**
 * Failed logins per account (normalised email), whatever the IP: a password guesser spread over many
 * addresses still gets `max` tries per window. Each attempt is counted before the password is checked and
 * taken back when it succeeds, so concurrent guesses cannot overshoot the budget. Unknown emails are
 * counted the same way, so the limit does not reveal which accounts exist. The key holds a hash of the
 * email: no addresses in Redis.
 */
export function createAccountLoginLimit(redis: Redis, keys: RedisKeys, preset: RateLimitPreset) {
  const counter = createRateLimitCounter(redis);
  const windowMs = preset.windowMinutes * 60_000;
  return {
    /** Throws RateLimitError when the account is over budget; call `succeeded()` after a good password. */
    async begin(email: string, request: FastifyRequest): Promise<{ succeeded: () => Promise<void> }> {
      const subject = createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
      const key = keys.rateLimit(preset.name, subject);
      const { count, ttlMs } = await counter.hit(key, windowMs);
      if (count > preset.max) {
        request.log.warn({ preset: preset.name, ip: request.ip, count }, 'account login limit exceeded');
        throw new RateLimitError(preset.message, retryAfterSeconds(ttlMs));
      }
      return { succeeded: () => counter.forgive(key) };
    },
  };
}
export type AccountLoginLimit = ReturnType<typeof createAccountLoginLimit>;

/**
 * Fixed window per preset and authenticated user (LibreChat's `*_USER_MAX`/`*_USER_WINDOW` limiters, e.g.
 * file uploads): runs after the auth preHandler, so `request.user` is set.
 */
export function createUserRateLimit(redis: Redis, keys: RedisKeys, preset: RateLimitPreset) {
  const counter = createRateLimitCounter(redis);
  const windowMs = preset.windowMinutes * 60_000;
  return async function userRateLimit(request: FastifyRequest) {
    const userId = request.user?.id;
    if (!userId) return;
    const { count, ttlMs } = await counter.hit(keys.rateLimit(preset.name, `user:${userId}`), windowMs);
    if (count > preset.max) {
      request.log.warn({ preset: preset.name, userId, count }, 'rate limit exceeded');
      throw new RateLimitError(preset.message, retryAfterSeconds(ttlMs));
    }
  };
}
