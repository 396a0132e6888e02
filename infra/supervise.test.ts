/**
 * infra/supervise.ts against real child processes: a small HTTP fixture for the mechanism (restart,
 * backoff, stop), then the real worker entry point that `npm start` runs, SIGKILLed and back polling.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, onTestFailed, test } from 'vitest';
import { Connection } from '@temporalio/client';
import { findFreePort } from './local-services.ts';
import { nodeEntryPoints } from './node-entry-points.ts';
import { supervise, type Supervised, type SuperviseOptions } from './supervise.ts';
import { testEnvironment } from '../test/helpers/test-app.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test', 'fixtures', 'supervised-child.mjs');
const logDirectory = mkdtempSync(path.join(os.tmpdir(), 'durachat-supervise-'));
const running: Supervised[] = [];
// Values of Temporal's API enums (temporal.api.enums.v1), which @temporalio/client does not re-export.
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const messages: string[] = [];

function superviseFixture(overrides: Partial<SuperviseOptions> & { environment?: NodeJS.ProcessEnv }): Supervised {
  const supervised = supervise({
    name: 'fixture',
    command: process.execPath,
    args: [fixture],
    logDirectory,
    initialBackoffMs: 100,
    maxBackoffMs: 400,
    stopGraceMs: 5000,
    log: (message) => messages.push(message),
    ...overrides,
  });
  running.push(supervised);
  return supervised;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The pid the fixture answers with, or undefined while nothing listens. */
async function answeringPid(port: number): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return Number(await response.text());
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervised) => supervised.stop()));
});
afterAll(() => rmSync(logDirectory, { recursive: true, force: true }));

describe('supervise', () => {
  test('a SIGKILLed child is restarted with a new pid and answers again; the restart is logged', async () => {
    const port = await findFreePort();
    const supervised = superviseFixture({ environment: { ...process.env, FIXTURE_PORT: String(port) } });
    const firstPid = await until('the first child to answer', () => answeringPid(port));
    assert.equal(firstPid, supervised.child?.pid);

    process.kill(firstPid, 'SIGKILL');
    const secondPid = await until('a restarted child to answer', async () => {
      const pid = await answeringPid(port);
      return pid !== undefined && pid !== firstPid ? pid : undefined;
    });
    assert.equal(isAlive(firstPid), false);
    assert.equal(supervised.child?.pid, secondPid);
    assert.deepEqual(supervised.exits.map(({ code, signal, restartInMs }) => ({ code, signal, restartInMs })), [{ code: null, signal: 'SIGKILL', restartInMs: 100 }]);
    assert.ok(messages.some((message) => /fixture exited unexpectedly \(code null, signal SIGKILL\).*restart #1 in 0\.1s/.test(message)), messages.join('\n'));
  });

  test('the wait doubles on each crash in a row, up to the maximum', async () => {
    const supervised = superviseFixture({ environment: { ...process.env, FIXTURE_EXIT_AFTER_MS: '0' } });
    await until('five crashes', () => (supervised.exits.length >= 5 ? true : undefined));
    assert.deepEqual(supervised.exits.slice(0, 5).map((exit) => exit.restartInMs), [100, 200, 400, 400, 400]);
    assert.ok(supervised.exits.every((exit) => exit.code === 3));
  });

  test('a child that ran stably before it crashed restarts after the first wait again', async () => {
    const supervised = superviseFixture({ stableAfterMs: 300, environment: { ...process.env, FIXTURE_EXIT_AFTER_MS: '400' } });
    await until('three crashes', () => (supervised.exits.length >= 3 ? true : undefined));
    assert.deepEqual(supervised.exits.slice(0, 3).map((exit) => exit.restartInMs), [100, 100, 100]);
  });

  test('stop() ends the child with SIGTERM and never restarts it', async () => {
    const port = await findFreePort();
    const supervised = superviseFixture({ environment: { ...process.env, FIXTURE_PORT: String(port) } });
    const pid = await until('the child to answer', () => answeringPid(port));
    await supervised.stop();
    assert.equal(isAlive(pid), false);
    assert.equal(supervised.child, undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await answeringPid(port), undefined);
    assert.deepEqual(supervised.exits, []);
  });

  test('once the stack is stopping (its signal aborted), a child that dies is not restarted', async () => {
    const port = await findFreePort();
    const stopping = new AbortController();
    const supervised = superviseFixture({ signal: stopping.signal, environment: { ...process.env, FIXTURE_PORT: String(port) } });
    const pid = await until('the child to answer', () => answeringPid(port));
    stopping.abort();
    process.kill(pid, 'SIGKILL');
    await until('the child to be gone', () => (supervised.child === undefined ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await answeringPid(port), undefined);
    assert.deepEqual(supervised.exits, []);
  });
});

describe('supervise with the real worker entry point', () => {
  const environment = testEnvironment();
  const taskQueue = environment.TEMPORAL_TASK_QUEUE!;
  let connection: Connection | undefined;
  afterAll(async () => connection?.close());

  /** Worker identities (`<pid>@<host>`, the SDK's default) polling this test's task queue. */
  async function pollerPids(): Promise<number[]> {
    connection ??= await Connection.connect({ address: environment.TEMPORAL_ADDRESS! });
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: environment.TEMPORAL_NAMESPACE ?? 'default',
      taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (pollers ?? []).map((poller) => Number(poller.identity?.split('@')[0]));
  }

  test('a SIGKILLed worker is restarted and polls its task queue again; stop() drains it without a restart', async () => {
    const supervised = supervise({
      name: 'worker',
      command: process.execPath,
      args: ['--import', 'tsx', path.join(root, nodeEntryPoints.worker)],
      logDirectory,
      initialBackoffMs: 200,
      log: (message) => messages.push(message),
      environment,
    });
    running.push(supervised);
    const logTail = () => (existsSync(supervised.logFile) ? readFileSync(supervised.logFile, 'utf8').slice(-2000) : '(no log)');
    onTestFailed(() => console.error(`worker log:\n${logTail()}`));
    const firstPid = supervised.child!.pid!;
    await until('the worker to poll', async () => ((await pollerPids()).includes(firstPid) ? true : undefined), 60_000);

    process.kill(firstPid, 'SIGKILL');
    await until('a new worker process', () => (supervised.child && supervised.child.pid !== firstPid ? true : undefined));
    const secondPid = supervised.child!.pid!;
    await until('the restarted worker to poll', async () => ((await pollerPids()).includes(secondPid) ? true : undefined), 60_000);
    assert.equal(supervised.exits.length, 1);
    assert.equal(supervised.exits[0]!.signal, 'SIGKILL');

    await supervised.stop();
    assert.equal(isAlive(secondPid), false);
    assert.equal(supervised.child, undefined);
    assert.equal(supervised.exits.length, 1);
  });
});
