/**
 * `npm test` after infra/setup.sh: starts Temporal (in memory) and FerretDB on test-only ports unless they
 * already run, runs every `*.test.ts` with node's test runner, then stops what it started.
 * Each test file gets its own database and Redis key prefix (test/helpers), so files can run in parallel.
 */
import { spawn } from 'node:child_process';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFerretDB, ensureTemporal, log, stopChild, temporalExecutable, type ManagedService } from './local-services.ts';

const root = path.resolve(import.meta.dirname, '..');
const dataDirectory = path.join(root, '.data', 'test');
const temporalAddress = process.env.TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:17233';
const mongoUri = process.env.TEST_MONGO_URI ?? 'mongodb://127.0.0.1:27027/';

function findTests(directory: string, found: string[] = []): string[] {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) findTests(full, found);
    else if (entry.name.endsWith('.test.ts')) found.push(path.relative(root, full));
  }
  return found;
}

const requested = process.argv.slice(2);
const files = requested.length > 0 ? requested : ['api', 'workflows', 'activities', 'workers', 'shared', 'test'].flatMap((folder) => findTests(path.join(root, folder))).sort();

const services: ManagedService[] = [];
let exitCode = 1;
try {
  rmSync(path.join(dataDirectory, 'ferretdb'), { recursive: true, force: true });
  services.push(await ensureTemporal({ address: temporalAddress, uiPort: 18233, logDirectory: dataDirectory, headless: true }));
  services.push(await ensureFerretDB({ mongoUri, dataDirectory: path.join(dataDirectory, 'ferretdb'), logDirectory: dataDirectory }));
  // Bundle the workflows once for every test process (webpack takes seconds each time otherwise).
  const bundle = await bundleWorkflowCode({ workflowsPath: path.join(root, 'workflows', 'index.ts'), logger: undefined });
  mkdirSync(dataDirectory, { recursive: true });
  const bundlePath = path.join(dataDirectory, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  log(`running ${files.length} test files`);
  const runner = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        NODE_ENV: 'test',
        TEST_MONGO_URI: mongoUri,
        TEST_TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_CLI_PATH: temporalExecutable,
        DATA_DIR: dataDirectory,
        WORKFLOW_BUNDLE_PATH: bundlePath,
      },
    },
  );
  exitCode = await new Promise<number>((resolve) => runner.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
} catch (error) {
  console.error(`[stack] ${(error as Error).message}`);
} finally {
  for (const service of services.reverse()) if (service.child) await stopChild(service.child);
}
process.exit(exitCode);
