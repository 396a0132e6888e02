/**
 * infra/keep-local-services.ts: the watch `npm start` keeps on the local Redis and PostgreSQL. A real Redis of
 * the test's own (started as setup starts it, on a free port) is SIGKILLed and comes back; a service that
 * cannot be started is retried with a growing wait, not in a loop; a stopped watch starts nothing.
 * PostgreSQL is not killed here (every test file shares it): its start command is setup's, and finding its
 * cluster is checked on pg_lsclusters' output.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, test } from 'vitest';
import { clusterOnPort, localUrlPort, setupRedisPort, startLocalRedis, watchLocalService } from './keep-local-services.ts';
import { findFreePort, isPortOpen } from './local-services.ts';
import { waitFor } from '../test/helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('a SIGKILLed local Redis is started again as setup starts it, and answers', async () => {
  const port = await findFreePort();
  // The daemons are this test's: whichever runs on the port at the end is shut down, whatever failed before.
  cleanups.push(() => new Promise((resolve) => execFile('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { timeout: 5_000 }, () => resolve(undefined))));
  await startLocalRedis(port);
  await waitFor('Redis to listen', () => isPortOpen(port), 20_000, 50);
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: null });
  cleanups.push(() => redis.disconnect());
  await redis.connect();
  const messages: string[] = [];
  const stopping = new AbortController();
  const watch = watchLocalService({ name: 'Redis', port, start: () => startLocalRedis(port), signal: stopping.signal, log: (message) => messages.push(message), intervalMs: 100 });
  cleanups.push(() => stopping.abort());
  redis.on('error', () => undefined); // refused while the server is down: expected

  const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
  process.kill(pid, 'SIGKILL');
  await waitFor('the restart', async () => watch.restarts === 1, 20_000, 50);
  assert.equal(await redis.ping(), 'PONG', 'the client reconnects to the new server');
  const newPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
  assert.notEqual(newPid, pid);
  assert.deepEqual(messages, [`Redis on 127.0.0.1:${port} stopped answering; starting it again`, `Redis on 127.0.0.1:${port} is back`]);
  watch.stop();
}, 60_000);

test('a service that cannot be started is tried again after a growing wait, not in a loop; a stopped watch starts nothing', async () => {
  const port = await findFreePort(); // nothing listens there
  const messages: string[] = [];
  let starts = 0;
  const stopping = new AbortController();
  const watch = watchLocalService({
    name: 'Nothing',
    port,
    start: async () => {
      starts += 1;
      throw new Error('no such service');
    },
    signal: stopping.signal,
    log: (message) => messages.push(message),
    intervalMs: 50,
  });
  await waitFor('the first start', async () => starts === 1, 20_000, 50);
  // Checks go on every 50 ms; the next start waits 5 s.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(starts, 1);
  assert.match(messages.at(-1)!, /^Nothing could not be started again \(no such service\); next try in 5s$/);
  stopping.abort();
  watch.stop();

  // stop() clears the check it had scheduled: a down service is never started after it.
  let startedAfterStop = 0;
  const stopped = watchLocalService({ name: 'Stopped', port, start: async () => void (startedAfterStop += 1), signal: new AbortController().signal, log: () => undefined, intervalMs: 20, downChecks: 1 });
  stopped.stop();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(startedAfterStop, 0);
});

test('the PostgreSQL cluster is found by its port; only URLs on this machine are watched', () => {
  const listing = '15 main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n16 durachat 5433 down postgres /var/lib/postgresql/16/durachat /var/log/x.log\n';
  assert.deepEqual(clusterOnPort(listing, 5433), { version: '16', name: 'durachat' });
  assert.deepEqual(clusterOnPort(listing, 5432), { version: '15', name: 'main' });
  assert.equal(clusterOnPort(listing, 5434), undefined);
  assert.equal(localUrlPort('redis://127.0.0.1:6379', 6379), 6379);
  assert.equal(localUrlPort('redis://localhost', 6379), 6379);
  assert.equal(localUrlPort('postgres://u:p@127.0.0.1:5433/db', 5432), 5433);
  assert.equal(localUrlPort('redis://redis.internal:6379', 6379), undefined);
  assert.equal(localUrlPort('not a url', 6379), undefined);
  // Only the Redis setup starts: plain, local, 6379, no credentials.
  assert.equal(setupRedisPort('redis://127.0.0.1:6379'), 6379);
  assert.equal(setupRedisPort('redis://localhost:6379/0'), 6379);
  assert.equal(setupRedisPort('redis://127.0.0.1:6380'), undefined);
  assert.equal(setupRedisPort('rediss://127.0.0.1:6379'), undefined);
  assert.equal(setupRedisPort('redis://:secret@127.0.0.1:6379'), undefined);
});
