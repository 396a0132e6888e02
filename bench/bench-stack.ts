/**
 * The stack every benchmark runs against (bench/README.md): Temporal (in memory) and FerretDB on the test
 * ports unless they are running, then the fake OpenAI-compatible provider, the worker(s) and the API(s) as
 * separate processes (the real entry points), with their own database, Redis prefix and task queue.
 * Used by chat-bench.ts, provider-ttft.ts and scale-out.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import mongoose from 'mongoose';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureFerretDB, ensureTemporal, findFreePort, stopChild, waitForPort, type ManagedService } from '../infra/local-services.ts';

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
  /** What every child process gets (the first API's PORT; each other API its own). */
  environment: Record<string, string>;
  providerOrigin: string;
  provider: ChildProcess;
  workers: ChildProcess[];
  apis: BenchApi[];
  /** Registers the benchmark user (through the first API) and logs in: the bearer token. */
  login(): Promise<string>;
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
  const environment: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(root, '.data', 'bench'),
    MONGO_URI: `mongodb://127.0.0.1:27027/durachat_bench_${runId}`,
    REDIS_KEY_PREFIX: `durachat-bench:${runId}:`,
    TEMPORAL_ADDRESS: '127.0.0.1:17233',
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

  function spawnEntry(entry: string, extra: Record<string, string> = {}): ChildProcess {
    const profile = options.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', path.join(root, '.data', 'bench', 'profiles')] : [];
    return spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, entry)], { cwd: root, env: { ...environment, ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
  }

  const services: ManagedService[] = [];
  const children: ChildProcess[] = [];
  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    (stopped ??= (async () => {
      for (const child of [...children].reverse()) await stopChild(child);
      // The run's database goes with it (on FerretDB over PostgreSQL it is a schema that would otherwise
      // pile up in the `durachat` database, one per bench run).
      const client = new mongoose.mongo.MongoClient(environment.MONGO_URI!, { serverSelectionTimeoutMS: 3000 });
      await client.db().dropDatabase().catch((error: Error) => console.error(`[stack] could not drop the bench database: ${error.message}`));
      await client.close().catch(() => undefined);
      for (const service of [...services].reverse()) if (service.child) await stopChild(service.child);
    })());

  try {
    services.push(await ensureTemporal({ address: environment.TEMPORAL_ADDRESS!, uiPort: 18233, logDirectory: environment.DATA_DIR!, headless: true }));
    services.push(await ensureFerretDB({ mongoUri: environment.MONGO_URI!, dataDirectory: path.join(environment.DATA_DIR!, 'ferretdb'), logDirectory: environment.DATA_DIR! }));
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
    return { runId, environment, providerOrigin, provider, workers, apis, login, shutdown };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
