/**
 * The stack every benchmark runs against (bench/README.md): Temporal (in memory) and FerretDB on the test
 * ports unless they are running, then the fake OpenAI-compatible provider, the worker(s) and the API(s) as
 * separate processes (the real entry points), with their own database, Redis prefix and task queue.
 * With `likeStart` (chat-bench's --like-start), Temporal and search are shaped as `npm start` runs them.
 * Used by chat-bench.ts, provider-ttft.ts and scale-out.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import mongoose from 'mongoose';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureFerretdbLookupIndexes } from '../infra/ferretdb-lookup-indexes.ts';
import { ensureFerretDB, ensureTemporal, ferretdbPostgresqlUrl, findFreePort, psql, stopChild, waitForPort, type ManagedService } from '../infra/local-services.ts';
import { buildEntryPoints } from '../infra/build-entry-points.ts';
import { nodeArguments, nodeProcessEnvironment } from '../infra/node-entry-points.ts';
import { localSearchDefault } from '../infra/search-default.ts';
import { describeSearchConfig, loadSearchConfig } from '../shared/search-config.ts';

export const root = path.resolve(import.meta.dirname, '..');

/** `--name value` from the command line, or the fallback. */
export function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1]!;
}

/** Whether the module whose `import.meta.url` this is was started as the program (not imported). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(path.resolve(process.argv[1])).href;
}

export interface BenchApi {
  process: ChildProcess;
  port: number;
  baseUrl: string;
}

export interface BenchStack {
  runId: string;
  /** One line saying which stack runs (the bench's own, or shaped like `npm start`), also printed at start. */
  shape: string;
  /** What every child process gets (the first API's PORT; each other API its own). */
  environment: Record<string, string>;
  providerOrigin: string;
  provider: ChildProcess;
  workers: ChildProcess[];
  apis: BenchApi[];
  /** Registers the benchmark user (through the first API) and logs in: the bearer token. */
  login(): Promise<string>;
  /**
   * FerretDB on PostgreSQL: the GIN lookup indexes `npm start` adds (infra/ferretdb-lookup-indexes.ts), for
   * the collections created so far. Call it after a warm-up, as `npm start` runs it 5 s after start-up.
   */
  addLookupIndexes(): Promise<void>;
  /** Stops the children (last started first), then the services this stack started. Safe to repeat. */
  shutdown(): Promise<void>;
}

export interface BenchStackOptions {
  apis?: number;
  workers?: number;
  /** BENCH_CPU_PROFILE=1 (chat-bench.ts): V8 CPU profiles of each process in .data/bench/profiles. */
  cpuProfile?: boolean;
  /** Added to the environment of every process. */
  environment?: Record<string, string>;
  /**
   * Shaped like `npm start` (infra/run-stack.ts) instead of the lighter bench stack: a Temporal dev server of
   * this run (free ports) on a SQLite file in WAL mode in .data/bench/temporal-<runId>, and search on
   * FerretDB's PostgreSQL server (infra/search-default.ts) in a schema of this run, so every chat also
   * records its search changes and the indexer runs on the worker's search queue. Both go at shutdown.
   */
  likeStart?: boolean;
}

/**
 * Starts the stack and resolves once the provider and every API listen. If start-up fails, what was
 * started is stopped before the error is thrown.
 */
export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const apiCount = options.apis ?? 1;
  const workerCount = options.workers ?? 1;
  const runId = randomUUID().slice(0, 8);
  const providerPort = await findFreePort();
  const apiPorts: number[] = [];
  for (let index = 0; index < apiCount; index += 1) apiPorts.push(await findFreePort());
  const providerOrigin = `http://127.0.0.1:${providerPort}`;
  const likeStart = options.likeStart === true;
  const temporalDirectory = likeStart ? path.join(root, '.data', 'bench', `temporal-${runId}`) : undefined;
  const temporalAddress = likeStart ? `127.0.0.1:${await findFreePort()}` : '127.0.0.1:17233';
  const temporalUiPort = likeStart ? await findFreePort() : 18233;
  const environment: Record<string, string> = {
    // As npm start runs them (infra/node-entry-points.ts): two malloc arenas unless the caller sets otherwise.
    ...(nodeProcessEnvironment() as Record<string, string>),
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(root, '.data', 'bench'),
    MONGO_URI: `mongodb://127.0.0.1:27027/durachat_bench_${runId}`,
    REDIS_KEY_PREFIX: `durachat-bench:${runId}:`,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `durachat-bench-${runId}`,
    PORT: String(apiPorts[0]),
    DEMO_PROVIDER_PORT: String(providerPort),
    DEMO_PROVIDER_URL: `${providerOrigin}/v1`,
    CONCURRENT_MESSAGE_MAX: '2000',
    // One user drives every stream, so the per-user open-stream cap is lifted too.
    SSE_MAX_STREAMS_PER_USER: '5000',
    LOGIN_MAX: '1000',
    REGISTER_MAX: '1000',
    ...(apiCount > 1
      ? {
          // Several APIs must sign and check tokens with one secret, as a real deployment sets it. The
          // development fallback (a file in DATA_DIR) is written without an exclusive create, so processes
          // starting together on a fresh DATA_DIR can each generate their own (bench/README.md, scale-out).
          JWT_SECRET: randomBytes(32).toString('hex'),
          JWT_REFRESH_SECRET: randomBytes(32).toString('hex'),
        }
      : {}),
    ...options.environment,
  };

  // As npm start runs them: the build (infra/build-entry-points.ts), one of this run, removed at shutdown;
  // BENCH_SOURCES=1 runs the TypeScript sources through tsx instead (what every process ran before).
  const buildDirectory = process.env.BENCH_SOURCES === '1' ? undefined : path.join(root, '.data', 'bench', `build-${runId}`);
  function spawnEntry(entry: string, extra: Record<string, string> = {}): ChildProcess {
    const profile = options.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', path.join(root, '.data', 'bench', 'profiles')] : [];
    return spawn(process.execPath, [...profile, ...nodeArguments(entry, buildDirectory)], { cwd: root, env: { ...environment, ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
  }

  const services: ManagedService[] = [];
  const children: ChildProcess[] = [];
  /** likeStart's search schema, dropped at shutdown (one per run would otherwise pile up in PostgreSQL). */
  let searchSchema: { url: string; schema: string } | undefined;
  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    (stopped ??= (async () => {
      for (const child of [...children].reverse()) await stopChild(child);
      // The run's database goes with it (on FerretDB over PostgreSQL it is a schema that would otherwise
      // pile up in the `durachat` database, one per bench run).
      const client = new mongoose.mongo.MongoClient(environment.MONGO_URI!, { serverSelectionTimeoutMS: 3000 });
      await client.db().dropDatabase().catch((error: Error) => console.error(`[stack] could not drop the bench database: ${error.message}`));
      await client.close().catch(() => undefined);
      if (searchSchema) {
        await psql(searchSchema.url, `DROP SCHEMA IF EXISTS ${searchSchema.schema} CASCADE`).catch((error: Error) => console.error(`[stack] could not drop the search schema ${searchSchema!.schema}: ${error.message}`));
      }
      for (const service of [...services].reverse()) if (service.child) await stopChild(service.child);
      if (temporalDirectory) rmSync(temporalDirectory, { recursive: true, force: true });
      if (buildDirectory) rmSync(buildDirectory, { recursive: true, force: true });
    })());

  try {
    // likeStart: with its UI, as `npm start` runs it; the bench's own is headless.
    services.push(await ensureTemporal({ address: environment.TEMPORAL_ADDRESS!, uiPort: temporalUiPort, dataDirectory: temporalDirectory, logDirectory: environment.DATA_DIR!, headless: !likeStart }));
    const ferretdb = await ensureFerretDB({ mongoUri: environment.MONGO_URI!, dataDirectory: path.join(environment.DATA_DIR!, 'ferretdb'), logDirectory: environment.DATA_DIR! });
    services.push(ferretdb);
    // A FerretDB this stack did not start is assumed to be the local one on FERRETDB_POSTGRESQL_URL.
    const lookupIndexUrl = ferretdb.backend ? (ferretdb.backend.handler === 'postgresql' ? ferretdb.backend.url : undefined) : ferretdbPostgresqlUrl();
    const addLookupIndexes = async () => {
      if (!lookupIndexUrl) return;
      const created = await ensureFerretdbLookupIndexes(lookupIndexUrl).then((keys) => keys.length).catch((error: Error) => (console.error(`[stack] lookup indexes not added: ${error.message}`), 0));
      console.error(`[stack] FerretDB lookup indexes added: ${created}`);
    };
    let shape: string;
    if (likeStart) {
      // npm start's choice (FerretDB's PostgreSQL server unless the environment picks an engine), in a schema of this run.
      const search = await localSearchDefault(ferretdb.backend, environment);
      if (search.variables.SEARCH_POSTGRES_URL) {
        searchSchema = { url: search.variables.SEARCH_POSTGRES_URL, schema: `durachat_search_bench_${runId}` };
        Object.assign(environment, search.variables, { SEARCH_POSTGRES_SCHEMA: searchSchema.schema });
      }
      const searchLine = searchSchema ? `search on PostgreSQL schema ${searchSchema.schema}` : `search ${search.line}`;
      shape = `${buildDirectory ? 'build' : 'sources under tsx'}, like npm start: Temporal on SQLite (WAL) in ${path.relative(root, temporalDirectory!)} (${temporalAddress}), ${searchLine}`;
    } else {
      const search = loadSearchConfig(environment);
      shape = `${buildDirectory ? 'build' : 'sources under tsx'}, bench stack: Temporal in memory (${temporalAddress}), ${search.engine === 'disabled' ? 'no search' : `search ${describeSearchConfig(search)}`}`;
    }
    console.error(`[stack] ${shape}`);
    if (buildDirectory) await buildEntryPoints(buildDirectory);
    const provider = spawnEntry('workers/demo-provider.ts');
    children.push(provider);
    await waitForPort(providerPort, 'provider', provider);
    // As `npm start` does: the workflows bundled once ahead, so workers start without webpack.
    if (!environment.WORKFLOW_BUNDLE_PATH) {
      const bundlePath = path.join(environment.DATA_DIR!, 'workflow-bundle.js');
      execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'workers', 'build-workflow-bundle.ts'), bundlePath], { cwd: root, stdio: 'ignore', timeout: 180_000 });
      environment.WORKFLOW_BUNDLE_PATH = bundlePath;
    }
    const workers = Array.from({ length: workerCount }, () => spawnEntry('workers/worker.ts'));
    const apis = apiPorts.map((port) => ({ process: spawnEntry('api/server.ts', { PORT: String(port) }), port, baseUrl: `http://127.0.0.1:${port}` }));
    children.push(...workers, ...apis.map((api) => api.process));
    for (const [index, api] of apis.entries()) await waitForPort(api.port, apiCount > 1 ? `api-${index + 1}` : 'api', api.process, 60_000);
    const login = async () => {
      const baseUrl = apis[0]!.baseUrl;
      const password = 'benchmark password';
      await fetch(`${baseUrl}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', email: 'bench@example.com', password, confirm_password: password }) });
      const response = await (await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password }) })).json();
      return response.token as string;
    };
    return { runId, shape, environment, providerOrigin, provider, workers, apis, login, addLookupIndexes, shutdown };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
