import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.ts';
import { AGENT_RUN_MAX_DURATION_MS } from './agent-run.ts';
import { RUN_MAX_DURATION_MS, runKeyLifetimeSeconds, type RunStatus } from './chat-run.ts';

/**
 * Which runs exist, who owns them, and how many each user has going. Lives in Redis so every API
 * process and worker sees the same picture; the workflow releases its slot when it finishes.
 */
export interface RunInfo {
  streamId: string;
  userId: string;
  conversationId: string;
  responseMessageId: string;
  workflowId: string;
  status: RunStatus;
  createdAt: string;
}

/**
 * A slot older than this is assumed leaked: no run can take longer (the longest kind, an agent run, has
 * AGENT_RUN_MAX_DURATION_MS as its workflowExecutionTimeout; a chat reply RUN_MAX_DURATION_MS). The run
 * sweeper (api/run-sweeper.ts) frees slots of ended runs long before.
 */
export const LONGEST_RUN_MS = Math.max(RUN_MAX_DURATION_MS, AGENT_RUN_MAX_DURATION_MS);
export const STALE_SLOT_MS = LONGEST_RUN_MS + 5 * 60_000;

export const RESERVE_SLOT_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

type RegistryRedis = Redis & { durachatReserveSlot(key: string, now: number, cutoff: number, max: number, member: string, ttl: number): Promise<number> };

export function createRunRegistry(redis: Redis, keys: RedisKeys, options: { ttlSeconds: number }) {
  const scripted = redis as RegistryRedis;

  return {
    /** Atomically takes one of the user's `max` run slots; false when all are in use. */
    async reserveSlot(userId: string, streamId: string, max: number): Promise<boolean> {
      const now = Date.now();
      return (await scripted.durachatReserveSlot(keys.userActiveRuns(userId), now, now - STALE_SLOT_MS, max, streamId, STALE_SLOT_MS)) === 1;
    },

    /** Records a running run (also again, by a worker rebuilding what Redis lost). */
    async register(run: RunInfo): Promise<void> {
      await redis
        .multi()
        .hset(keys.runInfo(run.streamId), { ...run })
        .expire(keys.runInfo(run.streamId), runKeyLifetimeSeconds(options.ttlSeconds, LONGEST_RUN_MS))
        .set(keys.conversationActiveRun(run.userId, run.conversationId), run.streamId, 'EX', Math.ceil(STALE_SLOT_MS / 1000))
        .zadd(keys.userActiveRuns(run.userId), Date.parse(run.createdAt) || Date.now(), run.streamId)
        .zadd(keys.runningRuns, Date.parse(run.createdAt) || Date.now(), run.streamId)
        .exec();
    },

    /** Every running run of every user, oldest first, with its start time (the sweeper's work list). */
    async listRunning(limit: number): Promise<Array<{ streamId: string; startedAt: number }>> {
      const flat = await redis.zrange(keys.runningRuns, '0', String(limit - 1), 'WITHSCORES');
      const result: Array<{ streamId: string; startedAt: number }> = [];
      for (let index = 0; index < flat.length; index += 2) result.push({ streamId: flat[index]!, startedAt: Number(flat[index + 1]) });
      return result;
    },

    /** Drops a run from the sweeper's list (its record is gone or it has ended). */
    async forgetRunning(streamId: string): Promise<void> {
      await redis.zrem(keys.runningRuns, streamId);
    },

    async get(streamId: string): Promise<RunInfo | undefined> {
      const fields = await redis.hgetall(keys.runInfo(streamId));
      return fields.streamId ? (fields as unknown as RunInfo) : undefined;
    },

    async findByConversation(userId: string, conversationId: string): Promise<RunInfo | undefined> {
      const streamId = await redis.get(keys.conversationActiveRun(userId, conversationId));
      return streamId ? this.get(streamId) : undefined;
    },

    async listActive(userId: string): Promise<RunInfo[]> {
      const streamIds = await redis.zrangebyscore(keys.userActiveRuns(userId), Date.now() - STALE_SLOT_MS, '+inf');
      const runs = await Promise.all(streamIds.map((streamId) => this.get(streamId)));
      return runs.filter((run): run is RunInfo => run !== undefined && run.status === 'running');
    },

    /** The run ended: record how, free the user's slot, let the stream and record expire. */
    async complete(run: Pick<RunInfo, 'streamId' | 'userId' | 'conversationId'>, status: RunStatus): Promise<void> {
      const mapping = keys.conversationActiveRun(run.userId, run.conversationId);
      await redis
        .multi()
        .hset(keys.runInfo(run.streamId), 'status', status)
        .expire(keys.runInfo(run.streamId), options.ttlSeconds)
        .expire(keys.chatStream(run.streamId), options.ttlSeconds)
        .zrem(keys.userActiveRuns(run.userId), run.streamId)
        .zrem(keys.runningRuns, run.streamId)
        .exec();
      // The conversation's pointer stays as long as the ended run's stream (a client that resumes by
      // conversation id gets the end frame), unless a newer run has replaced it.
      if ((await redis.get(mapping)) === run.streamId) await redis.expire(mapping, options.ttlSeconds);
    },

    /** The run never started (Temporal refused): leave no trace. */
    async discard(run: Pick<RunInfo, 'streamId' | 'userId' | 'conversationId'>): Promise<void> {
      await redis
        .multi()
        .del(keys.runInfo(run.streamId), keys.chatStream(run.streamId), keys.streamWriterFence(run.streamId))
        .zrem(keys.userActiveRuns(run.userId), run.streamId)
        .zrem(keys.runningRuns, run.streamId)
        .exec();
      const mapping = keys.conversationActiveRun(run.userId, run.conversationId);
      if ((await redis.get(mapping)) === run.streamId) await redis.del(mapping);
    },
  };
}
export type RunRegistry = ReturnType<typeof createRunRegistry>;
