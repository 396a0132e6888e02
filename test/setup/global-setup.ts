/**
 * Vitest globalSetup: starts Temporal (in memory, headless) and FerretDB on test-only ports unless they
 * already run, bundles the workflows once for every test file, and stops what it started at the end.
 * Test files run in forked processes that inherit the environment set here; each file then gets its
 * own database, Redis key prefix and task queue (test/helpers/test-app.ts), so files run side by side.
 *
 * FerretDB stores its data in a PostgreSQL database of this run's own, `durachat_test_<port>_<pid>`, on
 * the server and with the role of FERRETDB_POSTGRESQL_URL: created here, dropped at teardown, and those
 * of runs that crashed (their process is gone and nothing is connected) dropped when the next run starts.
 * Without PostgreSQL it falls back to SQLite files in .data/test/ferretdb-<port>/ and says so.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import {
  chooseFerretBackend,
  ensureFerretDB,
  ensureTemporal,
  ferretdbPostgresqlUrl,
  isPortOpen,
  log,
  mongoLocalPort,
  psql,
  stopChild,
  temporalExecutable,
  withDatabase,
  type FerretBackend,
  type ManagedService,
} from '../../infra/local-services.ts';
import { createRunSearchSchema, dropRunSearchSchemas, type RunSearchSchema } from './search-schema.ts';
import { buildEntryPoints } from '../../infra/build-entry-points.ts';
import { workflowBundleOptions } from '../../workers/workflow-bundle-options.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const dataDirectory = path.join(root, '.data', 'test');
/** This run's build of the entry points: its own, so runs side by side never load each other's half-written files. */
const buildDirectory = path.join(dataDirectory, `build-${process.pid}`);
const services: ManagedService[] = [];
const localPortOf = (address: string) => Number(address.split(':')[1]) || undefined;
/**
 * `durachat_test_<port>_<host>_<pid>_<random>`: the host id keeps runs on machines or containers that share
 * one PostgreSQL apart (pids repeat across containers), the random part keeps two runs apart even then, and
 * only databases with this host's id are judged by this host's process table.
 */
const hostId = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
const testDatabasePattern = /^durachat_test_(\d+)_([0-9a-f]{8})_(\d+)_[0-9a-f]+$/;
/** The PostgreSQL database this run created (and drops at teardown), with the URL to drop it through. */
let ownDatabase: { name: string; adminUrl: string } | undefined;
/** The search engine's schema of this run (test/setup/search-schema.ts), dropped at teardown. */
let searchSchema: RunSearchSchema | undefined;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drops the test databases of runs whose process is gone. One still in use (connections open) is left. */
async function dropStaleTestDatabases(adminUrl: string) {
  const names = (await psql(adminUrl, "select datname from pg_database where datname like 'durachat\\_test\\_%'")).split('\n').filter(Boolean);
  for (const name of names) {
    const match = testDatabasePattern.exec(name);
    if (!match || match[2] !== hostId || processAlive(Number(match[3]))) continue;
    try {
      await psql(adminUrl, `drop database if exists "${name}"`);
      log(`PostgreSQL: dropped ${name}, left by a test run that ended without teardown`);
    } catch (error) {
      log(`PostgreSQL: left ${name} (${(error as Error).message})`);
    }
  }
}

/** This run's own PostgreSQL database, or SQLite (with the reason) when PostgreSQL cannot be used. */
async function testBackend(mongoPort: number): Promise<FerretBackend> {
  const adminUrl = ferretdbPostgresqlUrl();
  const chosen = await chooseFerretBackend(adminUrl);
  if (chosen.handler === 'sqlite') return chosen;
  const name = `durachat_test_${mongoPort}_${hostId}_${process.pid}_${randomBytes(3).toString('hex')}`;
  try {
    await dropStaleTestDatabases(adminUrl);
    await psql(adminUrl, `drop database if exists "${name}"`);
    await psql(adminUrl, `create database "${name}"`);
  } catch (error) {
    return { handler: 'sqlite', reason: `could not create the test database ${name}: ${(error as Error).message} (the role needs CREATEDB; infra/setup.sh grants it)` };
  }
  ownDatabase = { name, adminUrl };
  return { handler: 'postgresql', url: withDatabase(adminUrl, name) };
}

export async function setup() {
  const temporalAddress = process.env.TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:17233';
  const mongoUri = process.env.TEST_MONGO_URI ?? 'mongodb://127.0.0.1:27027/';
  const mongoPort = mongoLocalPort(mongoUri) ?? 27027;
  services.push(await ensureTemporal({ address: temporalAddress, uiPort: (localPortOf(temporalAddress) ?? 17233) + 1000, logDirectory: dataDirectory, headless: true }));
  // Storage is prepared only when this run starts FerretDB: one already listening keeps its own. The SQLite
  // fallback's folder is per port (runs on other ports never share files) and wiped by the run that starts it.
  if (mongoLocalPort(mongoUri) !== undefined && !(await isPortOpen(mongoPort))) {
    const ferretDirectory = path.join(dataDirectory, `ferretdb-${mongoPort}`);
    rmSync(ferretDirectory, { recursive: true, force: true });
    const backend = await testBackend(mongoPort);
    services.push(await ensureFerretDB({ mongoUri, dataDirectory: ferretDirectory, logDirectory: dataDirectory, backend }));
    // The PostgreSQL database under this run's FerretDB, for tests of what the local stack does in it.
    if (backend.handler === 'postgresql') process.env.TEST_FERRETDB_POSTGRESQL_URL = backend.url;
  } else {
    services.push(await ensureFerretDB({ mongoUri, dataDirectory: path.join(dataDirectory, `ferretdb-${mongoPort}`), logDirectory: dataDirectory }));
  }
  searchSchema = await createRunSearchSchema({ url: process.env.SEARCH_POSTGRES_URL || ferretdbPostgresqlUrl(), hostId, processAlive });
  // Bundled once here: webpack takes seconds per worker otherwise.
  const bundle = await bundleWorkflowCode({ ...workflowBundleOptions, logger: undefined });
  mkdirSync(dataDirectory, { recursive: true });
  // The processes kill tests spawn run the build, as npm start runs them (test/helpers/chat-stack.ts). The
  // builds of runs that died before their teardown (their process is gone) are removed first.
  for (const name of readdirSync(dataDirectory)) {
    const pid = /^build-(\d+)$/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !processAlive(Number(pid))) rmSync(path.join(dataDirectory, name), { recursive: true, force: true });
  }
  const { outputDirectory } = await buildEntryPoints(buildDirectory);
  // In this run's own directory: a run beside it never rewrites the file this run's workers read.
  const bundlePath = path.join(buildDirectory, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  Object.assign(process.env, {
    NODE_ENV: 'test',
    TEST_BUILD_DIR: outputDirectory,
    TEST_MONGO_URI: mongoUri,
    TEST_TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_CLI_PATH: temporalExecutable,
    DATA_DIR: dataDirectory,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    ...(searchSchema ? { SEARCH_POSTGRES_URL: searchSchema.url, SEARCH_POSTGRES_SCHEMA: searchSchema.schema } : {}),
  });
}

export async function teardown() {
  rmSync(buildDirectory, { recursive: true, force: true });
  if (searchSchema) await dropRunSearchSchemas(searchSchema).catch((error: Error) => log(`search: could not drop ${searchSchema?.schema} (${error.message}); the next test run drops it`));
  for (const service of services.reverse()) if (service.child) await stopChild(service.child);
  if (ownDatabase) {
    const { name, adminUrl } = ownDatabase;
    ownDatabase = undefined;
    // FerretDB has exited; FORCE only ends connections a crashed child may have left behind.
    await psql(adminUrl, `drop database if exists "${name}" with (force)`).catch((error: Error) => log(`PostgreSQL: could not drop ${name} (${error.message}); the next test run drops it`));
  }
}
