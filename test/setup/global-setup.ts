/**
 * Vitest globalSetup: starts Temporal (in memory, headless) and FerretDB on test-only ports unless they
 * already run, bundles the workflows once for every test file, and stops what it started at the end.
 * Test files run in forked processes that inherit the environment set here; each file then gets its
 * own database, Redis key prefix and task queue (test/helpers/test-app.ts), so files run side by side.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFerretDB, ensureTemporal, isPortOpen, mongoLocalPort, stopChild, temporalExecutable, type ManagedService } from '../../infra/local-services.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const dataDirectory = path.join(root, '.data', 'test');
const services: ManagedService[] = [];
const localPortOf = (address: string) => Number(address.split(':')[1]) || undefined;

export async function setup() {
  const temporalAddress = process.env.TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:17233';
  const mongoUri = process.env.TEST_MONGO_URI ?? 'mongodb://127.0.0.1:27027/';
  // A folder per port (runs on other ports never share files), wiped only when this run starts FerretDB:
  // another run's FerretDB may be using it.
  const mongoPort = mongoLocalPort(mongoUri) ?? 27027;
  const ferretDirectory = path.join(dataDirectory, `ferretdb-${mongoPort}`);
  if (!(await isPortOpen(mongoPort))) rmSync(ferretDirectory, { recursive: true, force: true });
  services.push(await ensureTemporal({ address: temporalAddress, uiPort: (localPortOf(temporalAddress) ?? 17233) + 1000, logDirectory: dataDirectory, headless: true }));
  services.push(await ensureFerretDB({ mongoUri, dataDirectory: ferretDirectory, logDirectory: dataDirectory }));
  // Bundled once here: webpack takes seconds per worker otherwise.
  const bundle = await bundleWorkflowCode({ workflowsPath: path.join(root, 'workflows', 'index.ts'), logger: undefined });
  mkdirSync(dataDirectory, { recursive: true });
  const bundlePath = path.join(dataDirectory, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  Object.assign(process.env, {
    NODE_ENV: 'test',
    TEST_MONGO_URI: mongoUri,
    TEST_TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_CLI_PATH: temporalExecutable,
    DATA_DIR: dataDirectory,
    WORKFLOW_BUNDLE_PATH: bundlePath,
  });
}

export async function teardown() {
  for (const service of services.reverse()) if (service.child) await stopChild(service.child);
}
