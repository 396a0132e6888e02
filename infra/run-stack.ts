/**
 * `npm start` after infra/setup.sh: Temporal dev server, FerretDB (on PostgreSQL: FERRETDB_POSTGRESQL_URL;
 * SQLite files when PostgreSQL cannot be reached, said at start-up), the demo provider, the API and one
 * worker. Services already running (or pointed elsewhere by MONGO_URI / TEMPORAL_ADDRESS) are reused.
 * Every process it starts is supervised (the API, the worker, the demo provider, and Temporal and FerretDB
 * when it starts them): one that dies is restarted with backoff.
 * Ctrl-C stops what this process started, in reverse order.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { loadConfigOrExit } from '../shared/config.ts';
import { ensureFerretDB, ensureTemporal, isPortOpen, log, redactUrl, stopChild, waitForPort, type ManagedService } from './local-services.ts';
import { nodeArguments, nodeEntryPoints, nodeProcessEnvironment } from './node-entry-points.ts';
import { ensureFerretdbLookupIndexes } from './ferretdb-lookup-indexes.ts';
import { localSearchDefault } from './search-default.ts';
import { supervise, supervisedLaunch } from './supervise.ts';
import { debianClusterOnPort, localUrlPort, setupRedisPort, startLocalPostgresql, startLocalRedis, watchLocalService } from './keep-local-services.ts';

const root = path.resolve(import.meta.dirname, '..');
const config = loadConfigOrExit();
const dataDirectory = path.resolve(root, config.DATA_DIR);
const logDirectory = path.join(dataDirectory, 'logs');
// Longer than the worker's own drain, so a stopping worker is not killed mid-hand-back.
const stopGraceMs = config.WORKER_SHUTDOWN_GRACE_MS + 5_000;

/** What this run started, in start order; each knows how to stop itself. */
const started: { name: string; stop: () => Promise<void> }[] = [];
/** The processes' build (buildProcesses), or undefined: they run the sources through tsx. */
let buildDirectory: string | undefined;
/** Aborted once stopping begins: from then on no supervised child is restarted, whichever exits first. */
const stopping = new AbortController();

/**
 * Runs a build script of the project (`node --import tsx <script> <target>`) in a short-lived process, so its
 * tools (webpack, esbuild) never weigh on this one. Resolves with the lines it printed, or undefined when it
 * failed; then `onFailure` gets the reason: the script's own "build failed" line or the error of an
 * uncaught exception, not Node's version banner that ends its stderr.
 */
function runBuildScript(script: string, target: string, timeoutMs: number, onFailure: (reason: string) => void): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(root, script), target], { cwd: root, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout.trim().split('\n'));
      const lines = stderr.split('\n').map((line) => line.trim());
      onFailure(lines.find((line) => /^(build failed|\w*Error\b)/.test(line)) ?? lines.find(Boolean) ?? error.message);
      resolve(undefined);
    });
  });
}

/**
 * The workflow bundle, built once in a short-lived process before the worker starts (the worker then
 * skips webpack: faster start, ~80 MiB less peak RSS). A configured WORKFLOW_BUNDLE_PATH is used as given.
 */
async function buildWorkflowBundle(): Promise<string | undefined> {
  if (config.WORKFLOW_BUNDLE_PATH) return config.WORKFLOW_BUNDLE_PATH;
  const target = path.join(dataDirectory, 'workflow-bundle.js');
  const printed = await runBuildScript('workers/build-workflow-bundle.ts', target, 180_000, (reason) => log(`workflow bundle: could not be built ahead (${reason}); the worker bundles at start instead`));
  if (!printed) return undefined;
  log(printed.join('\n'));
  return target;
}

/**
 * The processes' build (infra/build-entry-points.ts: dist/<content hash>/), made before they start:
 * JavaScript instead of TypeScript run through tsx (less memory in every process and thread, faster start).
 * A build is never rewritten under running processes, so a second `npm start` is safe. If it cannot be
 * built, the processes run the sources through tsx, as before, and the log says why.
 */
async function buildProcesses(): Promise<string | undefined> {
  const printed = await runBuildScript('infra/build-entry-points.ts', path.join(root, 'dist'), 120_000, (reason) => log(`build: could not be made (${reason}); the processes run the TypeScript sources through tsx instead`));
  if (!printed) return undefined;
  log(printed[0]!);
  // The script's last line is the build's directory.
  return printed.at(-1);
}

async function startNodeService(name: string, entry: string, port?: number, environment?: NodeJS.ProcessEnv) {
  if (port !== undefined && (await isPortOpen(port))) {
    log(`${name}: port ${port} is already in use, reused`);
    return;
  }
  const service = supervise({
    name,
    command: process.execPath,
    args: nodeArguments(entry, buildDirectory),
    logDirectory,
    stopGraceMs,
    signal: stopping.signal,
    environment: nodeProcessEnvironment(environment),
    log,
  });
  started.push(service);
  log(`${name}: starting (log: ${service.logFile})`);
  // Only the first start is awaited: a child that cannot come up at all fails `npm start` plainly.
  if (port !== undefined) await waitForPort(port, name, service.child, 60_000);
}

async function stopAll(reason: string, exitCode = 0) {
  if (stopping.signal.aborted) return;
  stopping.abort();
  log(`${reason}: stopping what this run started`);
  for (const service of started.reverse()) {
    await service.stop();
    log(`${service.name} stopped`);
  }
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll('Ctrl-C'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));

/** Temporal and FerretDB, when this run started them: stopped (without a restart) at the end, in reverse order. */
function track(service: ManagedService) {
  const { child, stop } = service;
  if (stop) started.push({ name: service.name, stop });
  else if (child) started.push({ name: service.name, stop: () => stopChild(child) });
}
/** Temporal and FerretDB come back if they die (infra/supervise.ts supervisedLaunch). */
const launch = supervisedLaunch({ signal: stopping.signal, log });

/**
 * FerretDB's collections get GIN lookup indexes (infra/ferretdb-lookup-indexes.ts) once the API and worker
 * have created theirs, and again every 10 minutes for collections made later. Best effort: a failure is
 * logged and lookups are only slower.
 */
function keepLookupIndexes(postgresqlUrl: string) {
  // One pass at a time: on a large database a pass can outlast the interval.
  let running = false;
  const pass = () => {
    if (running) return;
    running = true;
    ensureFerretdbLookupIndexes(postgresqlUrl)
      .then((created) => created.length > 0 && log(`FerretDB: ${created.length} lookup index(es) added in PostgreSQL`))
      .catch((error: Error) => log(`FerretDB: could not add lookup indexes (${error.message}); lookups scan their collections`))
      .finally(() => (running = false));
  };
  setTimeout(pass, 5_000).unref();
  setInterval(pass, 10 * 60_000).unref();
}

/**
 * The local Redis, and the local PostgreSQL under the FerretDB this run started, are started again if they die
 * (infra/keep-local-services.ts); services pointed elsewhere are left alone.
 */
function keepLocalDependencies(postgresqlUrl: string | undefined) {
  const redisPort = setupRedisPort(config.REDIS_URI);
  if (redisPort !== undefined) watchLocalService({ name: 'Redis', port: redisPort, start: () => startLocalRedis(redisPort), signal: stopping.signal, log });
  const postgresqlPort = postgresqlUrl === undefined ? undefined : localUrlPort(postgresqlUrl, 5432);
  if (postgresqlPort === undefined) return;
  void debianClusterOnPort(postgresqlPort).then((cluster) => {
    if (!cluster) return log(`PostgreSQL on 127.0.0.1:${postgresqlPort} is not a Debian cluster (pg_lsclusters): not restarted if it stops`);
    watchLocalService({ name: 'PostgreSQL', port: postgresqlPort, start: () => startLocalPostgresql(cluster), signal: stopping.signal, log });
  });
}

try {
  track(await ensureTemporal({ address: config.TEMPORAL_ADDRESS, uiPort: config.TEMPORAL_UI_PORT, namespace: config.TEMPORAL_NAMESPACE, dataDirectory, logDirectory, launch }));
  const ferretdb = await ensureFerretDB({ mongoUri: config.MONGO_URI, dataDirectory: path.join(dataDirectory, 'ferretdb'), logDirectory, launch });
  track(ferretdb);
  const storage = ferretdb.backend === undefined ? '' : ferretdb.backend.handler === 'postgresql' ? `  (FerretDB on PostgreSQL ${redactUrl(ferretdb.backend.url)})` : `  (FerretDB on SQLite in ${path.join(dataDirectory, 'ferretdb')}: PostgreSQL not used)`;
  // Search defaults to FerretDB's PostgreSQL server (own schema); the API and worker inherit the variable.
  const search = await localSearchDefault(ferretdb.backend);
  Object.assign(process.env, search.variables);
  log(`search: ${search.line}`);
  buildDirectory = await buildProcesses();
  if (!process.env.DEMO_PROVIDER_URL) await startNodeService('demo-provider', nodeEntryPoints.demoProvider, config.DEMO_PROVIDER_PORT);
  const bundlePath = await buildWorkflowBundle();
  await startNodeService('worker', nodeEntryPoints.worker, undefined, bundlePath ? { ...process.env, WORKFLOW_BUNDLE_PATH: bundlePath } : undefined);
  await startNodeService('api', nodeEntryPoints.api, config.PORT);
  // The PostgreSQL under the FerretDB this run started: its lookup indexes are kept, and it is kept up.
  const ownPostgresqlUrl = ferretdb.backend?.handler === 'postgresql' && ferretdb.child ? ferretdb.backend.url : undefined;
  if (ownPostgresqlUrl) keepLookupIndexes(ownPostgresqlUrl);
  keepLocalDependencies(ownPostgresqlUrl);
  const temporalUi = config.TEMPORAL_ADDRESS.startsWith('127.0.0.1') || config.TEMPORAL_ADDRESS.startsWith('localhost') ? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` : '(your Temporal cluster\'s UI)';
  console.log(`
durachat is running
  API          http://${config.HOST}:${config.PORT}   (liveness: /health, readiness: /ready)
  Temporal UI  ${temporalUi}
  Temporal     ${config.TEMPORAL_ADDRESS}  namespace ${config.TEMPORAL_NAMESPACE}, task queues ${Object.values(config.TASK_QUEUES).join(', ')}
  MongoDB      ${config.MONGO_URI.replace(/\/\/[^@/]*@/, '//***@')}${storage}
  Redis        ${config.REDIS_URI.replace(/\/\/[^@/]*@/, '//***@')}
  Search       ${search.line}
  Logs         ${logDirectory}
Press Ctrl-C to stop.`);
} catch (error) {
  console.error(`[stack] ${(error as Error).message}`);
  await stopAll('start-up failed', 1);
}
