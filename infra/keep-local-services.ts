/**
 * `npm start`'s watch on the local Redis and PostgreSQL it depends on. infra/setup.sh starts them when they
 * are down at start-up; nothing on a machine without a service manager starts them again when they die. So
 * while the stack runs, each one setup manages (Redis on redis://127.0.0.1:6379, the Debian PostgreSQL cluster
 * under the FerretDB this run started) is checked every 2 s, and one that stops answering twice in a row is started again the way setup starts it.
 * The stack's processes reconnect on their own, and a chat under way survives a Redis restart
 * (test/redis-restart.test.ts). Services pointed elsewhere are never touched.
 */
import { execFile } from 'node:child_process';
import { isPortOpen } from './local-services.ts';

export interface LocalServiceWatch {
  /** How many times the service was started again. */
  readonly restarts: number;
  stop(): void;
}

export interface WatchOptions {
  name: string;
  port: number;
  /** Starts the service; resolves once the start command returned (the watch then waits for the port). */
  start: () => Promise<void>;
  signal: AbortSignal;
  log: (message: string) => void;
  intervalMs?: number;
  /** Consecutive failed checks before a start: one refused connection is not yet a dead server. */
  downChecks?: number;
  /** How long a started service has to answer before the start counts as failed. */
  startTimeoutMs?: number;
}

export function watchLocalService(options: WatchOptions): LocalServiceWatch {
  const intervalMs = options.intervalMs ?? 2_000;
  const downChecks = options.downChecks ?? 2;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let failedChecks = 0;
  let restarts = 0;
  // After a start that did not bring the service back, the next try waits longer (up to a minute).
  let retryAfterMs = 0;
  let nextTryAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = () => {
    if (!stopped && !options.signal.aborted) timer = setTimeout(() => void check(), intervalMs);
  };
  async function check() {
    if (stopped || options.signal.aborted) return;
    if (await isPortOpen(options.port)) {
      failedChecks = 0;
      retryAfterMs = 0;
      return schedule();
    }
    failedChecks += 1;
    if (failedChecks < downChecks || Date.now() < nextTryAt || stopped || options.signal.aborted) return schedule();
    options.log(`${options.name} on 127.0.0.1:${options.port} stopped answering; starting it again`);
    try {
      await options.start();
      const deadline = Date.now() + startTimeoutMs;
      while (!(await isPortOpen(options.port))) {
        if (stopped || options.signal.aborted) return; // the stack is stopping: nothing to report
        if (Date.now() > deadline) throw new Error(`not answering after ${startTimeoutMs / 1000}s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      restarts += 1;
      failedChecks = 0;
      retryAfterMs = 0;
      options.log(`${options.name} on 127.0.0.1:${options.port} is back`);
    } catch (error) {
      retryAfterMs = Math.min(Math.max(retryAfterMs * 2, 5_000), 60_000);
      nextTryAt = Date.now() + retryAfterMs;
      options.log(`${options.name} could not be started again (${(error as Error).message}); next try in ${retryAfterMs / 1000}s`);
    }
    schedule();
  }
  schedule();
  return {
    get restarts() {
      return restarts;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function run(command: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => (error ? reject(new Error((stderr || error.message).trim().split('\n').at(-1))) : resolve(stdout)));
  });
}

/**
 * Redis as infra/setup.sh starts it: a daemon on 127.0.0.1, persistence off; its pid file is its own (as root,
 * Redis would otherwise write /var/run/redis.pid over the machine's).
 */
export function startLocalRedis(port: number): Promise<void> {
  return run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--pidfile', `/tmp/durachat-redis-${port}.pid`]).then(() => undefined);
}

/** Only the Redis setup starts (plain `redis://` on 127.0.0.1 or localhost, port 6379, no credentials) is watched. */
export function setupRedisPort(uri: string): number | undefined {
  return /^redis:\/\/(127\.0\.0\.1|localhost):6379(\/\d*)?$/.test(uri) ? 6379 : undefined;
}

/** The Debian cluster (`pg_lsclusters`: version, name, port, …) that serves `port`, if any. */
export function clusterOnPort(listing: string, port: number): { version: string; name: string } | undefined {
  for (const line of listing.split('\n')) {
    const [version, name, clusterPort] = line.trim().split(/\s+/);
    if (version && name && Number(clusterPort) === port) return { version, name };
  }
  return undefined;
}

/** The Debian cluster on `port` (pg_lsclusters), or undefined: a PostgreSQL Debian's tools do not manage is not watched. */
export async function debianClusterOnPort(port: number): Promise<{ version: string; name: string } | undefined> {
  return clusterOnPort(await run('pg_lsclusters', ['--no-header']).catch(() => ''), port);
}

/** PostgreSQL as infra/setup.sh starts it: that Debian cluster, through pg_ctlcluster. */
export async function startLocalPostgresql(cluster: { version: string; name: string }): Promise<void> {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start'], 60_000);
}

/** The port of a URL on this machine (127.0.0.1 or localhost), else undefined: a service elsewhere is not ours to start. */
export function localUrlPort(url: string, defaultPort: number): number | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.hostname !== '127.0.0.1' && parsed.hostname !== 'localhost') return undefined;
    return parsed.port ? Number(parsed.port) : defaultPort;
  } catch {
    return undefined;
  }
}
