/**
 * `npm start`'s Temporal dev server and FerretDB under supervision (infra/supervise.ts supervisedLaunch, as
 * infra/run-stack.ts starts them): SIGKILLed, each is started again on its port with its data, and what was
 * under way carries on. A workflow's durable timer, started before the dev server died, fires after its
 * restart (its state is in the SQLite file); a document written before FerretDB died is read after.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeEach, onTestFailed, test } from 'vitest';
import { ensureFerretDB, ensureTemporal, findFreePort, isPortOpen, type ManagedService } from './local-services.ts';
import { supervisedLaunch } from './supervise.ts';
import { waitFor } from '../test/helpers/wait-for.ts';

const directory = mkdtempSync(path.join(os.tmpdir(), 'durachat-supervised-services-'));
const stopping = new AbortController();
const messages: string[] = [];
const launch = supervisedLaunch({ signal: stopping.signal, log: (message) => messages.push(message) });
const services: ManagedService[] = [];

// What the supervisor said, for a test that fails waiting on it.
beforeEach(() => onTestFailed(() => console.error(`supervisor said: ${messages.join(' | ')}`)));

afterAll(async () => {
  stopping.abort();
  for (const service of services.reverse()) await service.stop?.();
  rmSync(directory, { recursive: true, force: true });
});

/** SIGKILLs the service's process, then waits for the supervisor's restart and the port to answer again. */
async function killAndAwaitRestart(service: ManagedService, port: number): Promise<number> {
  const exited = new Promise((resolve) => service.child!.once('exit', resolve));
  service.child!.kill('SIGKILL');
  await exited;
  const deadAt = Date.now();
  await waitFor(`${service.name} to be restarted`, async () => messages.some((message) => message.startsWith(`${service.name} exited unexpectedly`) && message.includes('restart #1')));
  await waitFor(`${service.name} to listen again`, () => isPortOpen(port));
  return deadAt;
}

test('a SIGKILLed Temporal dev server is started again with its state: a timer started before its death fires after', async () => {
  const port = await findFreePort();
  const address = `127.0.0.1:${port}`;
  const temporal = await ensureTemporal({ address, uiPort: await findFreePort(), dataDirectory: path.join(directory, 'temporal'), logDirectory: directory, headless: true, launch });
  services.push(temporal);
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: path.resolve(import.meta.dirname, '..', 'test', 'fixtures', 'workflows', 'durable-timer.ts'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
  const workerConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection: workerConnection, taskQueue: 'supervised-temporal', workflowBundle });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection });
    const startedAt = Date.now();
    const handle = await client.workflow.start('durableTimer', { taskQueue: 'supervised-temporal', workflowId: `timer-${Date.now()}`, args: [8_000] });
    await waitFor('the timer to be started', async () => (await handle.fetchHistory()).events?.some((event) => event.timerStartedEventAttributes) || undefined);

    const deadAt = await killAndAwaitRestart(temporal, port);
    assert.ok(deadAt < startedAt + 8_000, 'the server died before the timer was due');

    // The client's calls fail while the server is down; the worker reconnects on its own.
    const result = await waitFor('the workflow to finish', async () => handle.result().catch(() => undefined));
    assert.equal(result, 'fired');
  } finally {
    worker.shutdown();
    await running;
    await workerConnection.close();
    await connection.close();
  }
}, 120_000);

test('a SIGKILLed FerretDB is started again: a document written before its death is read after', async () => {
  const port = await findFreePort();
  const mongoUri = `mongodb://127.0.0.1:${port}/`;
  // SQLite keeps the test off the run's PostgreSQL database; supervision does not depend on the backend.
  const ferretdb = await ensureFerretDB({ mongoUri, dataDirectory: path.join(directory, 'ferretdb'), logDirectory: directory, backend: { handler: 'sqlite', reason: 'FERRETDB_HANDLER=sqlite' }, launch });
  services.push(ferretdb);
  const connection = await mongoose.createConnection(`${mongoUri}supervised`, { serverSelectionTimeoutMS: 30_000 }).asPromise();
  try {
    await connection.collection('notes').insertOne({ _id: 'before' as never, text: 'written before the kill' });

    await killAndAwaitRestart(ferretdb, port);

    const found = await waitFor('the document after the restart', () => connection.collection('notes').findOne({ _id: 'before' as never }).catch(() => undefined));
    assert.equal(found?.text, 'written before the kill');
    await connection.collection('notes').insertOne({ _id: 'after' as never, text: 'and writes go on' });
    assert.equal(await connection.collection('notes').countDocuments(), 2);
  } finally {
    await connection.close();
  }
}, 120_000);
