import type { FastifyInstance } from 'fastify';
import type { Client, Connection } from '@temporalio/client';
import { temporalReachable } from '../../shared/temporal-reachable.ts';
import type { Redis } from 'ioredis';
import mongoose from 'mongoose';
import type { Config } from '../../shared/config.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import { listLiveWorkers } from '../../shared/worker-heartbeat.ts';

/** Each dependency gets this long; they are checked side by side, so /ready answers within about this. */
const CHECK_TIMEOUT_MS = 2000;

interface CheckResult {
  ok: boolean;
  latencyMs: number;
  /** A fixed phrase, never the error itself: /ready is public and must not reveal hosts or stacks. */
  error?: 'timed out' | 'failed';
}
interface WorkersCheck extends CheckResult {
  queues: Record<string, number>;
}
export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: { redis: CheckResult; database: CheckResult; temporal: CheckResult; workers: WorkersCheck };
}

/**
 * The task queues that need at least one live worker before this API can serve every kind of run. Not the
 * search queue: indexing is background work whose changes wait in the outbox (issue 12), and without a
 * search engine no worker serves it at all; the API serves every request either way.
 */
function requiredTaskQueues(config: Config): string[] {
  return [...new Set(Object.entries(config.TASK_QUEUES).filter(([kind]) => kind !== 'search').map(([, queue]) => queue))];
}

/**
 * `/health` is liveness: the process answers, nothing else is touched (a restart would not fix a
 * dependency). `/ready` is readiness: Redis, the database, Temporal and a worker per task queue, each
 * bounded by a timeout, 503 while any is missing, so a load balancer sends no traffic here until then.
 */
export async function healthRoutes(app: FastifyInstance, options: { config: Config; redis: Redis; temporal: Client; keys: Pick<RedisKeys, 'workerHeartbeat'> }) {
  const { config, redis, temporal, keys } = options;

  app.get('/health', async (_request, reply) => reply.type('text/plain').send('OK'));

  app.get('/ready', async (request, reply) => {
    const failed = (name: string) => (error: unknown) => request.log.warn({ check: name, err: error }, 'readiness check failed');
    const [redisCheck, database, temporalCheck, workers] = await Promise.all([
      timed(() => redis.ping(), failed('redis')),
      timed(async () => {
        const db = mongoose.connection.db;
        if (mongoose.connection.readyState !== 1 || !db) throw new Error('database is not connected');
        await db.command({ ping: 1 });
      }, failed('database')),
      // DescribeNamespace rather than GetSystemInfo: it also proves the configured namespace exists.
      // Reachability first: a call to an unreachable server leaves the SDK's retry timers running past this
      // check (and past a shutdown that closes the connection).
      timed(async () => {
        if (!(await temporalReachable(temporal.connection as Connection, CHECK_TIMEOUT_MS))) throw new Error('Temporal is unreachable');
        await temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.workflowService.describeNamespace({ namespace: config.TEMPORAL_NAMESPACE }));
      }, failed('temporal')),
      checkWorkers(),
    ]);
    const checks = { redis: redisCheck, database, temporal: temporalCheck, workers };
    const ready = Object.values(checks).every((check) => check.ok);
    const body: Readiness = { status: ready ? 'ready' : 'unavailable', checks };
    return reply.status(ready ? 200 : 503).header('cache-control', 'no-store').send(body);

    async function checkWorkers(): Promise<WorkersCheck> {
      const queues = Object.fromEntries(requiredTaskQueues(config).map((queue) => [queue, 0]));
      const check = await timed(async () => {
        for (const worker of await listLiveWorkers(redis, keys)) {
          for (const queue of worker.queues) if (Object.hasOwn(queues, queue)) queues[queue]! += 1;
        }
      }, failed('workers'));
      const served = Object.values(queues).every((count) => count > 0);
      return { ...check, ok: check.ok && served, queues };
    }
  });
}

/** Runs one check against the clock; a rejection or the timeout is a failed check, never a thrown error. */
async function timed(check: () => Promise<unknown>, onFailure: (error: unknown) => void): Promise<CheckResult> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), CHECK_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([check().then(() => 'ok' as const), timeout]);
    if (outcome === 'timed out') return { ok: false, latencyMs: latencyMs(), error: 'timed out' };
    return { ok: true, latencyMs: latencyMs() };
  } catch (error) {
    onFailure(error);
    return { ok: false, latencyMs: latencyMs(), error: 'failed' };
  } finally {
    clearTimeout(timer);
  }
}
