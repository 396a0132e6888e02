import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { devServerSearchAttributeArgs } from '../shared/search-attributes.ts';
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
  child?: ChildProcess;
  reused: boolean;
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

export async function ensureTemporal(options: { address: string; uiPort: number; namespace?: string; dataDirectory?: string; logDirectory: string; headless?: boolean }): Promise<ManagedService> {
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
    args.push('--db-filename', path.join(options.dataDirectory, 'temporal.db'));
  }
  if (options.headless) args.push('--headless');
  const { child, logFile } = spawnLogged('temporal', temporalExecutable, args, options.logDirectory);
  log(`Temporal: starting dev server on 127.0.0.1:${port} (log: ${logFile})`);
  await waitForPort(port, 'Temporal', child);
  return { name: 'temporal', child, reused: false };
}

export async function ensureFerretDB(options: { mongoUri: string; dataDirectory: string; logDirectory: string }): Promise<ManagedService> {
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
  // _txlock=immediate: write transactions take the lock up front and wait for it (busy_timeout) instead
  // of failing with SQLITE_BUSY when two writers race. No debug HTTP server (it would claim port 8088).
  const args = ['--handler=sqlite', `--sqlite-url=file:${directory}/?_txlock=immediate`, `--listen-addr=127.0.0.1:${port}`, `--state-dir=${directory}`, '--telemetry=disable', '--log-level=warn', '--debug-addr=-'];
  const { child, logFile } = spawnLogged('ferretdb', ferretdbExecutable, args, options.logDirectory);
  log(`FerretDB: starting on 127.0.0.1:${port}, SQLite files in ${directory} (log: ${logFile})`);
  await waitForPort(port, 'FerretDB', child);
  return { name: 'ferretdb', child, reused: false };
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
