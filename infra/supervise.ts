import type { ChildProcess } from 'node:child_process';
import { spawnLogged, stopChild, type Launch } from './local-services.ts';

export interface SuperviseOptions {
  name: string;
  command: string;
  args: string[];
  logDirectory: string;
  environment?: NodeJS.ProcessEnv;
  /** The first wait before a restart; it doubles on each crash in a row up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A child that ran this long before it exited counts as stable: the next restart waits `initialBackoffMs` again. */
  stableAfterMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  /** Aborted when the whole stack stops: no restart is scheduled (or run) after that, whatever exits. */
  signal?: AbortSignal;
  log: (message: string) => void;
  /** Called with each child, the first one and every restart. */
  onSpawn?: (child: ChildProcess) => void;
}

export interface UnexpectedExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  uptimeMs: number;
  restartInMs: number;
}

export interface Supervised {
  readonly name: string;
  readonly logFile: string;
  /** The child running now; undefined while waiting to restart or after `stop()`. */
  readonly child: ChildProcess | undefined;
  /** Every unexpected exit so far, oldest first, with the wait chosen before its restart. */
  readonly exits: readonly UnexpectedExit[];
  /** Stops restarting, then SIGTERM and, after the grace period, SIGKILL. */
  stop(): Promise<void>;
}

/**
 * Runs a child process and restarts it when it exits while nobody asked it to stop: a crashed API or
 * worker comes back on its own, after an exponential backoff so that a child that cannot start (a bad
 * config, a dependency down) does not spin. Output goes to the child's log file; restarts go to `log`.
 */
export function supervise(options: SuperviseOptions): Supervised {
  const initialBackoffMs = options.initialBackoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const stableAfterMs = options.stableAfterMs ?? 60_000;
  const exits: UnexpectedExit[] = [];
  let child: ChildProcess | undefined;
  let logFile = '';
  let nextBackoffMs = initialBackoffMs;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  const restartsAllowed = () => !stopping && !options.signal?.aborted;

  function start() {
    restartTimer = undefined;
    if (!restartsAllowed()) return;
    const spawned = spawnLogged(options.name, options.command, options.args, options.logDirectory, options.environment);
    const startedAt = Date.now();
    child = spawned.child;
    logFile = spawned.logFile;
    // A spawn failure (missing executable) arrives as 'error' and may come without 'exit'.
    let exited = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exited) return;
      exited = true;
      if (child === spawned.child) child = undefined;
      if (!restartsAllowed()) return;
      const uptimeMs = Date.now() - startedAt;
      if (uptimeMs >= stableAfterMs) nextBackoffMs = initialBackoffMs;
      const restartInMs = nextBackoffMs;
      nextBackoffMs = Math.min(nextBackoffMs * 2, maxBackoffMs);
      exits.push({ code, signal, uptimeMs, restartInMs });
      options.log(
        `${options.name} exited unexpectedly (code ${code}, signal ${signal}) after ${formatSeconds(uptimeMs)}; ` +
          `restart #${exits.length} in ${formatSeconds(restartInMs)} (log: ${logFile})`,
      );
      restartTimer = setTimeout(start, restartInMs);
    };
    spawned.child.once('exit', onGone);
    spawned.child.once('error', (error) => {
      options.log(`${options.name} could not be started: ${error.message}`);
      onGone(null, null);
    });
    options.onSpawn?.(spawned.child);
  }

  const stopOnAbort = () => {
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = undefined;
  };
  options.signal?.addEventListener('abort', stopOnAbort, { once: true });

  start();

  return {
    name: options.name,
    get logFile() {
      return logFile;
    },
    get child() {
      return child;
    },
    exits,
    async stop() {
      stopping = true;
      stopOnAbort();
      options.signal?.removeEventListener('abort', stopOnAbort);
      if (child) await stopChild(child, options.stopGraceMs);
    },
  };
}

/**
 * A Launch for infra/local-services.ts's ensureTemporal and ensureFerretDB that supervises the service:
 * `npm start`'s Temporal dev server (its state in a SQLite file) and FerretDB (its data in PostgreSQL or
 * SQLite files) are started again when they die, as the API and worker are, so runs under way carry on
 * once they are back. Restarts wait 1 s, doubling up to 10 s while the service keeps dying.
 */
export function supervisedLaunch(options: { signal: AbortSignal; log: (message: string) => void; stopGraceMs?: number }): Launch {
  return (name, command, args, logDirectory) => {
    const service = supervise({ name, command, args, logDirectory, maxBackoffMs: 10_000, stableAfterMs: 30_000, ...options });
    return { child: service.child!, logFile: service.logFile, stop: () => service.stop() };
  };
}

function formatSeconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(milliseconds < 10_000 ? 1 : 0)}s`;
}
