import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { devServerSearchAttributeArgs } from '../shared/search-attributes.ts';
import { withCustomPlans } from './ferretdb-lookup-indexes.ts';
import { registerMissingSearchAttributes } from './register-search-attributes.ts';

export const toolsDirectory = process.env.DURACHAT_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'durachat', 'bin');
export const temporalExecutable = path.join(toolsDirectory, 'temporal');
export const ferretdbExecutable = path.join(toolsDirectory, 'ferretdb');

export function log(message: string) {
  console.log(`[stack] ${message}`);
}

export function isPortOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitForPort(port: number, name: string, child: ChildProcess | undefined, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before listening on ${port}`);
    if (await isPortOpen(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} did not listen on port ${port} within ${timeoutMs / 1000}s`);
}

/** A port nothing listens on right now (the kernel's pick). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A host:port is "local" when this script may start the service itself. */
export function localPort(hostAndPort: string): number | undefined {
  const match = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(hostAndPort);
  return match ? Number(match[2]) : undefined;
}

export function mongoLocalPort(uri: string): number | undefined {
  const match = /^mongodb:\/\/(?:[^@/]*@)?(127\.0\.0\.1|localhost):(\d+)(\/|$|\?)/.exec(uri);
  return match ? Number(match[2]) : undefined;
}

export interface ManagedService {
  name: string;
  /** The process started first; a supervised service's later restarts are not reflected here. */
  child?: ChildProcess;
  reused: boolean;
  /** Stops the service (a supervised one without restarting it); absent for a plain child, stopped with stopChild. */
  stop?: () => Promise<void>;
}

/**
 * How a service's process is started. The default is one child (spawnLogged); `npm start` passes one that
 * supervises it (infra/supervise.ts), so a Temporal or FerretDB that dies is started again.
 */
export type Launch = (name: string, command: string, args: string[], logDirectory: string) => { child: ChildProcess; logFile: string; stop?: () => Promise<void> };
const launchOnce: Launch = (name, command, args, logDirectory) => spawnLogged(name, command, args, logDirectory);

/**
 * Waits for a launched service's port; if it never listens, the service is stopped before the error is thrown,
 * so nothing is left behind (a supervised one would otherwise be restarted with nobody to stop it).
 */
async function listeningOrStopped(port: number, name: string, launched: { child: ChildProcess; stop?: () => Promise<void> }) {
  await waitForPort(port, name, launched.child).catch(async (error) => {
    await (launched.stop ? launched.stop() : stopChild(launched.child));
    throw error;
  });
}

/** Starts a child process whose output goes to a log file in the data folder (the terminal stays readable). */
export function spawnLogged(name: string, command: string, args: string[], logDirectory: string, environment: NodeJS.ProcessEnv = process.env) {
  mkdirSync(logDirectory, { recursive: true });
  const logFile = path.join(logDirectory, `${name}.log`);
  const output = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', output, output], env: environment });
  // The child has its own copy; keeping ours would leak a descriptor per (re)start.
  closeSync(output);
  return { child, logFile };
}

export async function ensureTemporal(options: { address: string; uiPort: number; namespace?: string; dataDirectory?: string; logDirectory: string; headless?: boolean; launch?: Launch }): Promise<ManagedService> {
  const port = localPort(options.address);
  if (port === undefined) {
    log(`Temporal: using ${options.address} (TEMPORAL_ADDRESS points elsewhere; not started here)`);
    return { name: 'temporal', reused: true };
  }
  if (await isPortOpen(port)) {
    log(`Temporal: already running on 127.0.0.1:${port}, reused`);
    try {
      const added = await registerMissingSearchAttributes(options.address, options.namespace);
      if (added.length > 0) log(`Temporal: registered search attributes ${added.join(', ')}`);
    } catch (error) {
      log(`Temporal: could not check its search attributes (${(error as Error).message}); runs may be refused`);
    }
    return { name: 'temporal', reused: true };
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(options.uiPort), '--log-level', 'warn',
    // Eager activity dispatch: an activity scheduled by a workflow task goes straight back to the
    // worker that completed it, saving a poll round trip per activity (time to first token).
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
    // Registered at start: a workflow started with an unknown search attribute is refused.
    ...devServerSearchAttributeArgs()];
  if (options.dataDirectory) {
    mkdirSync(options.dataDirectory, { recursive: true });
    // WAL with synchronous=NORMAL: each commit is an append, not an fsync of the rollback journal. Measured
    // on this machine (bench/README.md, "Temporal's SQLite file"): start → first activity 179 ms p50 with
    // the defaults, 61 ms with these, as fast as in memory. A crash of the process loses nothing; a power
    // loss may lose the last commits, which a local stack can afford (production runs a real cluster).
    args.push('--db-filename', path.join(options.dataDirectory, 'temporal.db'), '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (options.headless) args.push('--headless');
  const { child, logFile, stop } = (options.launch ?? launchOnce)('temporal', temporalExecutable, args, options.logDirectory);
  log(`Temporal: starting dev server on 127.0.0.1:${port} (log: ${logFile})`);
  await listeningOrStopped(port, 'Temporal', { child, stop });
  return { name: 'temporal', child, reused: false, stop };
}

/** FerretDB's PostgreSQL database for `npm start` (a role and database infra/setup.sh creates; the password only matters where local TCP logins need one). */
export const defaultPostgresqlUrl = 'postgres://durachat:durachat@127.0.0.1:5432/durachat';

/** `FERRETDB_POSTGRESQL_URL`, else the default. */
export function ferretdbPostgresqlUrl(environment: NodeJS.ProcessEnv = process.env): string {
  return environment.FERRETDB_POSTGRESQL_URL || defaultPostgresqlUrl;
}

/** The URL with its password hidden, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The same server and role, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Runs one SQL command with psql (no pg client library in this project; psql ships with PostgreSQL's
 * Debian packages). Resolves psql's output; rejects with psql's own error line.
 */
export function psql(url: string, sql: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('psql', ['-X', '-w', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { timeout: timeoutMs, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout.trim());
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new Error("psql is not installed (Debian's postgresql-client package)"));
      const line = stderr.split('\n').map((text) => text.trim()).find(Boolean);
      reject(new Error(line ? line.replace(/^psql: (error: )?/, '') : error.killed ? `psql timed out after ${timeoutMs / 1000}s` : error.message));
    });
  });
}

/** Why FerretDB cannot use PostgreSQL at this URL, or undefined when it can. */
export async function postgresqlProblem(url: string): Promise<string | undefined> {
  try {
    await psql(url, 'select 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * FerretDB's storage. `postgresql` (the default, FERRETDB_HANDLER) stores each MongoDB database as a
 * schema of one PostgreSQL database; `sqlite` keeps files in the data directory and is the fallback when
 * PostgreSQL cannot be reached (`reason` says why, and it is logged).
 */
export type FerretBackend = { handler: 'postgresql'; url: string } | { handler: 'sqlite'; reason?: string };

/** The backend the environment asks for, checked: PostgreSQL when it answers, else SQLite with the reason. */
export async function chooseFerretBackend(postgresqlUrl = ferretdbPostgresqlUrl(), environment: NodeJS.ProcessEnv = process.env): Promise<FerretBackend> {
  const handler = environment.FERRETDB_HANDLER || 'postgresql';
  if (handler === 'sqlite') return { handler: 'sqlite', reason: 'FERRETDB_HANDLER=sqlite' };
  if (handler !== 'postgresql') return { handler: 'sqlite', reason: `FERRETDB_HANDLER=${handler} is neither postgresql nor sqlite` };
  const problem = await postgresqlProblem(postgresqlUrl);
  return problem === undefined ? { handler: 'postgresql', url: postgresqlUrl } : { handler: 'sqlite', reason: `PostgreSQL at ${redactUrl(postgresqlUrl)} is not usable: ${problem}` };
}

/**
 * Which backend this data folder's FerretDB last ran on (`<state dir>/backend`). A stack that ran on
 * PostgreSQL must not quietly come back on SQLite when PostgreSQL is down (users and conversations would
 * seem gone, and new writes would split between two stores): that is refused with what to do instead.
 * Moving from SQLite to PostgreSQL is allowed, with a warning that the SQLite data stays behind.
 */
export function guardBackendSwitch(directory: string, backend: FerretBackend) {
  const markerFile = path.join(directory, 'backend');
  const previous = existsSync(markerFile) ? readFileSync(markerFile, 'utf8').trim() : undefined;
  const deliberate = backend.handler === 'sqlite' && backend.reason === 'FERRETDB_HANDLER=sqlite';
  if (backend.handler === 'sqlite' && previous === 'postgresql' && !deliberate) {
    throw new Error(
      `FerretDB's data is in PostgreSQL, which cannot be used now (${backend.reason}). Start PostgreSQL (bash infra/setup.sh starts it) and run again; to start over on SQLite on purpose, set FERRETDB_HANDLER=sqlite.`,
    );
  }
  if (backend.handler === 'postgresql' && previous !== 'postgresql' && readdirSync(directory).some((name) => name.endsWith('.sqlite'))) {
    log(`FerretDB: the SQLite files in ${directory} (data from before FerretDB ran on PostgreSQL) are not used; to use them, run with FERRETDB_HANDLER=sqlite`);
  }
  writeFileSync(markerFile, `${backend.handler}\n`);
}

export async function ensureFerretDB(options: { mongoUri: string; dataDirectory: string; logDirectory: string; backend?: FerretBackend; launch?: Launch }): Promise<ManagedService & { backend?: FerretBackend }> {
  const port = mongoLocalPort(options.mongoUri);
  if (port === undefined) {
    log('MongoDB: MONGO_URI points elsewhere; FerretDB not started');
    return { name: 'ferretdb', reused: true };
  }
  if (await isPortOpen(port)) {
    log(`MongoDB protocol: something already listens on 127.0.0.1:${port}, reused`);
    return { name: 'ferretdb', reused: true };
  }
  const directory = path.resolve(options.dataDirectory);
  mkdirSync(directory, { recursive: true });
  const backend = options.backend ?? (await chooseFerretBackend());
  guardBackendSwitch(directory, backend);
  // No debug HTTP server (it would claim port 8088). The state directory holds FerretDB's state.json either way.
  const common = [`--listen-addr=127.0.0.1:${port}`, `--state-dir=${directory}`, '--telemetry=disable', '--log-level=warn', '--debug-addr=-'];
  let args: string[];
  let where: string;
  if (backend.handler === 'postgresql') {
    // Custom plans let PostgreSQL use the lookup indexes of infra/ferretdb-lookup-indexes.ts.
    args = ['--handler=postgresql', `--postgresql-url=${withCustomPlans(backend.url)}`, ...common];
    where = `data in PostgreSQL ${redactUrl(backend.url)}`;
  } else {
    if (backend.reason === 'FERRETDB_HANDLER=sqlite') log(`FerretDB: NOT on PostgreSQL (FERRETDB_HANDLER=sqlite): SQLite files in ${directory}, every write serialised (slow under load).`);
    else if (backend.reason) log(`FerretDB: NOT on PostgreSQL (${backend.reason}); falling back to FerretDB's SQLite backend in ${directory}: the data lives in those files, not in PostgreSQL, and every write is serialised (slow under load). Fix PostgreSQL (infra/setup.sh, FERRETDB_POSTGRESQL_URL) and restart to use it.`);
    // _txlock=immediate: write transactions take the lock up front and wait for it (busy_timeout) instead
    // of failing with SQLITE_BUSY when two writers race.
    args = ['--handler=sqlite', `--sqlite-url=file:${directory}/?_txlock=immediate`, ...common];
    where = `SQLite files in ${directory}`;
  }
  const { child, logFile, stop } = (options.launch ?? launchOnce)('ferretdb', ferretdbExecutable, args, options.logDirectory);
  log(`FerretDB: starting on 127.0.0.1:${port}, ${where} (log: ${logFile})`);
  await listeningOrStopped(port, 'FerretDB', { child, stop });
  return { name: 'ferretdb', child, reused: false, backend, stop };
}

/**
 * SIGTERM, then SIGKILL after a grace period. The default outlasts a worker's drain (up to
 * WORKER_SHUTDOWN_GRACE_MS, 10 s by default), so a stopping worker finishes or hands back its runs.
 */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
