/**
 * The worker's MCP pool against real MCP servers run as child processes: the reference "everything" and
 * "filesystem" servers over stdio, and durachat's own tool server over stdio and streamable HTTP, with its
 * fault tools (crash, hang, cancellation, idempotency keys in `_meta`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { createMcpPool, type McpPool } from '../activities/tools/mcp/mcp-pool.ts';
import { ToolDeadlineError, ToolUnavailableError, type ToolCallContext, type ToolProgress } from '../activities/tools/tool-types.ts';
import { mcpServersSchema } from '../shared/mcp-config.ts';

const root = path.resolve(import.meta.dirname, '..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'durachat-mcp-pool-'));
const everything = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const filesystem = path.join(root, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const durachatTools = path.join(root, 'workers/mcp-servers/durachat-tools.ts');
const quietLog = { info: () => {}, warn: () => {} };

let callCounter = 0;
function context(overrides: Partial<ToolCallContext> = {}): ToolCallContext {
  callCounter += 1;
  return { userId: 'user-1', idempotencyKey: `test-workflow:call-${callCounter}`, signal: new AbortController().signal, ...overrides };
}

function readCallLog(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('reference servers over stdio', () => {
  let pool: McpPool;
  const folder = mkdtempSync(path.join(os.tmpdir(), 'durachat-mcp-fs-'));
  writeFileSync(path.join(folder, 'notes.txt'), 'durable tools are retried\n');

  beforeAll(() => {
    pool = createMcpPool({
      servers: mcpServersSchema.parse({
        everything: { command: process.execPath, args: [everything, 'stdio'], stderr: 'ignore', serverInstructions: true },
        files: { command: process.execPath, args: [filesystem, folder], stderr: 'ignore' },
      }),
      log: quietLog,
    });
  });
  afterAll(async () => pool.close());

  test('lists tools as <tool>_mcp_<server> with their input schemas, and calls echo and get-sum', async () => {
    const tools = await pool.tools('user-1', ['everything']);
    const echo = tools.find((tool) => tool.definition.name === 'echo_mcp_everything');
    const sum = tools.find((tool) => tool.definition.name === 'get-sum_mcp_everything');
    assert.ok(echo && sum, `tools: ${tools.map((tool) => tool.definition.name).join(', ')}`);
    assert.equal((echo.definition.parameters as { properties: Record<string, unknown> }).properties.message !== undefined, true);
    assert.deepEqual(await echo.call({ message: 'hello' }, context()), { output: 'Echo: hello', isError: false });
    const added = await sum.call({ a: 2, b: 40 }, context());
    assert.equal(added.isError, false);
    assert.match(added.output, /42/);
    assert.equal(pool.status().everything, 'connected');
  });

  test('serverInstructions: the server\'s own when true, none when unset', async () => {
    const instructions = await pool.instructions('user-1', ['everything', 'files']);
    assert.deepEqual(Object.keys(instructions), ['everything']);
    assert.ok(instructions.everything!.length > 20);
  });

  test('an image part is described, not pasted', async () => {
    const [image] = (await pool.tools('user-1', ['everything'])).filter((tool) => tool.definition.name === 'get-tiny-image_mcp_everything');
    const result = await image!.call({}, context());
    assert.match(result.output, /\[image image\/png, \d+ bytes\]/);
  });

  test('progress notifications of a long operation reach onProgress', async () => {
    const [longRunning] = (await pool.tools('user-1', ['everything'])).filter((tool) => tool.definition.name === 'trigger-long-running-operation_mcp_everything');
    const progress: ToolProgress[] = [];
    const result = await longRunning!.call({ duration: 1, steps: 4 }, context({ onProgress: (update) => progress.push(update) }));
    assert.equal(result.isError, false);
    // The SDK dispatches notifications a microtask late, so the one sent just before the answer may be dropped.
    assert.deepEqual(progress.map((update) => [update.progress, update.total]).slice(0, 3), [[1, 4], [2, 4], [3, 4]]);
  });

  test('the filesystem server reads a file in its folder, and refuses one outside it as a tool error', async () => {
    const tools = await pool.tools('user-1', ['files']);
    const read = tools.find((tool) => tool.definition.name === 'read_text_file_mcp_files')!;
    assert.deepEqual(await read.call({ path: path.join(folder, 'notes.txt') }, context()), { output: 'durable tools are retried\n', isError: false });
    const outside = await read.call({ path: '/etc/hostname' }, context());
    assert.equal(outside.isError, true);
    assert.match(outside.output, /denied|outside/i);
  });

  test('arguments the tool refuses are a tool error the model can read, not an outage', async () => {
    const echo = (await pool.tools('user-1', ['everything'])).find((tool) => tool.definition.name === 'echo_mcp_everything')!;
    const refused = await echo.call({ message: 42 }, context());
    assert.equal(refused.isError, true);
    assert.match(refused.output, /message/);
  });
});

describe('customUserVars: one connection per user, with that user\'s values', () => {
  let pool: McpPool;
  const values: Record<string, Record<string, string>> = { alice: { API_KEY: 'alice-key' }, bob: { API_KEY: 'bob-key' } };

  beforeAll(() => {
    pool = createMcpPool({
      servers: mcpServersSchema.parse({
        personal: {
          command: process.execPath,
          args: [everything, 'stdio'],
          stderr: 'ignore',
          env: { PERSONAL_KEY: '{{API_KEY}}', PERSONAL_USER: '{{LIBRECHAT_USER_ID}}' },
          customUserVars: { API_KEY: { title: 'API key' } },
        },
      }),
      userValues: async (userId) => values[userId],
      log: quietLog,
    });
  });
  afterAll(async () => pool.close());

  test('each user\'s server process sees their own value; a user without values gets a readable tool error', async () => {
    const environmentOf = async (userId: string) => {
      const getEnv = (await pool.tools(userId, ['personal'])).find((tool) => tool.definition.name === 'get-env_mcp_personal')!;
      return JSON.parse((await getEnv.call({}, context({ userId }))).output) as Record<string, string>;
    };
    const [alice, bob] = await Promise.all([environmentOf('alice'), environmentOf('bob')]);
    assert.deepEqual([alice.PERSONAL_KEY, alice.PERSONAL_USER], ['alice-key', 'alice']);
    assert.deepEqual([bob.PERSONAL_KEY, bob.PERSONAL_USER], ['bob-key', 'bob']);
    assert.deepEqual(pool.status('alice'), { personal: 'connected' });
    assert.deepEqual(pool.status(), { personal: 'disconnected' });
    assert.deepEqual(Object.keys(pool.snapshot().users).sort(), ['alice', 'bob']);

    // Carol has stored nothing: her list leaves the server out, and a call says what to do.
    assert.deepEqual(await pool.tools('carol'), []);
    const aliceTools = await pool.tools('alice', ['personal']);
    const echo = aliceTools.find((tool) => tool.definition.name === 'echo_mcp_personal')!;
    const refused = await echo.call({ message: 'x' }, context({ userId: 'carol' }));
    assert.equal(refused.isError, true);
    assert.match(refused.output, /needs your values for API_KEY/);
  });
});

test('per-user connections are shared by concurrent calls and dropped after the idle timeout', async () => {
  const callLog = path.join(scratch, 'idle-calls.jsonl');
  const pool = createMcpPool({
    servers: mcpServersSchema.parse({
      personal: {
        command: process.execPath,
        args: ['--import', 'tsx', durachatTools],
        cwd: root,
        env: { DURACHAT_MCP_FAULTS: '1', DURACHAT_MCP_CALL_LOG: callLog, PERSONAL_KEY: '{{API_KEY}}' },
        customUserVars: { API_KEY: { title: 'API key' } },
        initTimeout: 20_000,
      },
    }),
    userValues: async () => ({ API_KEY: 'k' }),
    log: quietLog,
    idleTimeoutMs: 1000,
  });
  try {
    const counterOf = async () => (await pool.tools('dave', ['personal'])).find((tool) => tool.definition.name === 'counter_mcp_personal')!;
    // Two first uses at once open one session (one server process), not two.
    const [first, second] = await Promise.all([counterOf(), counterOf()]);
    await Promise.all([first.call({ key: 'one' }, context({ userId: 'dave' })), second.call({ key: 'two' }, context({ userId: 'dave' }))]);
    const pids = new Set(readCallLog(callLog).map((entry) => entry.pid));
    assert.equal(pids.size, 1);
    assert.equal(pool.status('dave').personal, 'connected');
    await waitFor(() => pool.status('dave').personal === 'disconnected', 5000);
    assert.deepEqual(pool.snapshot().users, {});
    // Used again, it opens a new session.
    await (await counterOf()).call({ key: 'three' }, context({ userId: 'dave' }));
    assert.equal(new Set(readCallLog(callLog).map((entry) => entry.pid)).size, 2);
  } finally {
    await pool.close();
  }
});

describe('durachat-tools faults over stdio', () => {
  let pool: McpPool;
  const callLog = path.join(scratch, 'stdio-calls.jsonl');
  const toolsOf = async () => Object.fromEntries((await pool.tools('user-1', ['faulty'])).map((tool) => [tool.definition.name.replace(/_mcp_faulty$/, ''), tool]));

  beforeAll(() => {
    pool = createMcpPool({
      servers: mcpServersSchema.parse({
        faulty: {
          command: process.execPath,
          args: ['--import', 'tsx', durachatTools],
          cwd: root,
          env: { DURACHAT_MCP_FAULTS: '1', DURACHAT_MCP_CALL_LOG: callLog },
          timeout: 1500,
          initTimeout: 20_000,
        },
      }),
      log: quietLog,
    });
  });
  afterAll(async () => pool.close());

  test('the idempotency key reaches the server in _meta', async () => {
    const { counter } = await toolsOf();
    assert.deepEqual(await counter!.call({ key: 'a' }, context({ idempotencyKey: 'wf-1:call-7' })), { output: 'counted a', isError: false });
    const entries = readCallLog(callLog).filter((entry) => entry.tool === 'counter');
    assert.deepEqual(entries.map((entry) => [entry.key, entry.idempotencyKey]), [['a', 'wf-1:call-7']]);
  });

  test('a tool error (isError) is an answer, not an outage', async () => {
    const { fail } = await toolsOf();
    assert.deepEqual(await fail!.call({}, context()), { output: 'This tool always fails.', isError: true });
  });

  test('a crash mid-call is ToolUnavailableError; the next call reconnects to a new process and works', async () => {
    const { crash, echo } = await toolsOf();
    const before = readCallLog(callLog).find((entry) => entry.tool === 'counter')?.pid;
    await assert.rejects(crash!.call({}, context()), (error: Error) => error instanceof ToolUnavailableError && /closed the connection/.test(error.message));
    assert.deepEqual(await echo!.call({ message: 'still here' }, context()), { output: 'still here', isError: false });
    assert.equal(pool.status().faulty, 'connected');
    const { counter } = await toolsOf();
    await counter!.call({ key: 'after-crash' }, context());
    const after = readCallLog(callLog).find((entry) => entry.key === 'after-crash')?.pid;
    assert.ok(before && after && before !== after, `server pid before ${before}, after ${after}`);
  });

  test('after a crash the connection comes back by itself (backoff), with a new server process', async () => {
    const { crash, counter } = await toolsOf();
    await counter!.call({ key: 'before-second-crash' }, context());
    await assert.rejects(crash!.call({}, context()), ToolUnavailableError);
    assert.notEqual(pool.status().faulty, 'connected');
    // No call in between: the backoff timer (1 s first) reconnects on its own.
    await waitFor(() => pool.status().faulty === 'connected', 8000);
    await counter!.call({ key: 'after-second-crash' }, context());
    const pidOf = (key: string) => readCallLog(callLog).find((entry) => entry.key === key)?.pid;
    assert.notEqual(pidOf('before-second-crash'), pidOf('after-second-crash'));
  });

  test('a hung tool is ToolUnavailableError after the server timeout, and the server is told to cancel', async () => {
    const { hang } = await toolsOf();
    const started = Date.now();
    await assert.rejects(hang!.call({}, context({ idempotencyKey: 'hang-1' })), (error: Error) => error instanceof ToolUnavailableError && /did not answer within 1500 ms/.test(error.message));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400 && elapsed < 5000, `rejected after ${elapsed} ms`);
    await waitFor(() => readCallLog(callLog).some((entry) => entry.tool === 'hang' && entry.event === 'cancelled' && entry.idempotencyKey === 'hang-1'));
  });

  test('progress resets the per-request timeout, but the context timeout is a hard bound', async () => {
    const { slow_count: slowCount } = await toolsOf();
    const progress: ToolProgress[] = [];
    // 3 s with progress every 0.5 s: longer than the server's 1.5 s timeout, but never silent that long.
    const done = await slowCount!.call({ seconds: 3, steps: 6 }, context({ onProgress: (update) => progress.push(update) }));
    assert.deepEqual(done, { output: 'Counted to 6 in 3 seconds.', isError: false });
    assert.deepEqual(progress.map((update) => update.progress).slice(0, 5), [1, 2, 3, 4, 5]);
    assert.equal(progress[0]!.message, 'step 1 of 6');

    const started = Date.now();
    await assert.rejects(slowCount!.call({ seconds: 10, steps: 20 }, context({ timeoutMs: 2000 })), (error: Error) => error instanceof ToolDeadlineError && /did not finish within 2000 ms/.test(error.message));
    assert.ok(Date.now() - started < 3500);
  });

  test('aborting mid-call rejects at once with the abort reason, and the server sees the cancellation', async () => {
    const { slow_count: slowCount } = await toolsOf();
    const controller = new AbortController();
    const progress: ToolProgress[] = [];
    const call = slowCount!.call({ seconds: 20, steps: 40 }, context({ idempotencyKey: 'abort-1', signal: controller.signal, onProgress: (update) => progress.push(update) }));
    await waitFor(() => progress.length >= 2);
    const reason = new Error('run cancelled by the user');
    const abortedAt = Date.now();
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
    assert.ok(Date.now() - abortedAt < 200);
    const cancelled = await waitFor(() => readCallLog(callLog).find((entry) => entry.tool === 'slow_count' && entry.event === 'cancelled' && entry.idempotencyKey === 'abort-1'));
    assert.match(String(cancelled.reason), /run cancelled by the user/);
    assert.ok(!readCallLog(callLog).some((entry) => entry.idempotencyKey === 'abort-1' && entry.event === 'finished'));
  });
});

describe('durachat-tools over streamable HTTP', () => {
  let pool: McpPool;
  let server: ChildProcess;
  let url: string;
  const callLog = path.join(scratch, 'http-calls.jsonl');

  async function startServer(port = 0): Promise<number> {
    server = spawn(process.execPath, ['--import', 'tsx', durachatTools, '--http', String(port)], {
      cwd: root,
      env: { ...process.env, DURACHAT_MCP_FAULTS: '1', DURACHAT_MCP_CALL_LOG: callLog },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    return JSON.parse(line.toString()).port as number;
  }

  beforeAll(async () => {
    const port = await startServer();
    url = `http://127.0.0.1:${port}/mcp`;
    pool = createMcpPool({ servers: mcpServersSchema.parse({ remote: { type: 'streamable-http', url, timeout: 5000 } }), log: quietLog });
  });
  afterAll(async () => {
    await pool.close();
    server.kill();
  });

  test('lists and calls tools, with progress', async () => {
    const tools = Object.fromEntries((await pool.tools('user-1', ['remote'])).map((tool) => [tool.definition.name, tool]));
    assert.deepEqual(await tools.word_count_mcp_remote!.call({ text: 'one two\nthree' }, context()), { output: JSON.stringify({ words: 3, lines: 2, characters: 13 }), isError: false });
    const progress: ToolProgress[] = [];
    await tools.slow_count_mcp_remote!.call({ seconds: 0.4, steps: 2 }, context({ onProgress: (update) => progress.push(update) }));
    assert.equal(progress[0]?.progress, 1);
  });

  test('a server that went away is ToolUnavailableError; once it is back, the next call opens a new session', async () => {
    const port = Number(new URL(url).port);
    const echo = (await pool.tools('user-1', ['remote'])).find((tool) => tool.definition.name === 'echo_mcp_remote')!;
    server.kill('SIGKILL');
    await once(server, 'exit');
    await assert.rejects(echo.call({ message: 'x' }, context()), ToolUnavailableError);
    await startServer(port);
    // The first call after the restart may still hit the old session (404) and say so; the one after works.
    const answers = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        answers.push(await echo.call({ message: 'back' }, context()));
        break;
      } catch (error) {
        assert.ok(error instanceof ToolUnavailableError, String(error));
      }
    }
    assert.deepEqual(answers.at(-1), { output: 'back', isError: false });
  });
});

describe('the reference server over SSE and streamable HTTP', () => {
  const children: ChildProcess[] = [];

  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  /** server-everything listens on PORT and says so on stderr. */
  async function startEverything(transport: 'sse' | 'streamableHttp'): Promise<number> {
    const port = await freePort();
    const child = spawn(process.execPath, [everything, transport], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (new RegExp(`port ${port}`).test(output)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`server-everything ${transport} exited (${code}): ${output}`)));
    });
    return port;
  }

  afterAll(() => {
    for (const child of children) child.kill();
  });

  for (const [transport, type, route] of [['sse', 'sse', '/sse'], ['streamableHttp', 'streamable-http', '/mcp']] as const) {
    test(`${type}: lists tools and calls get-sum`, async () => {
      const port = await startEverything(transport);
      const pool = createMcpPool({ servers: mcpServersSchema.parse({ remote: { type, url: `http://127.0.0.1:${port}${route}` } }), log: quietLog });
      try {
        const sum = (await pool.tools('user-1', ['remote'])).find((tool) => tool.definition.name === 'get-sum_mcp_remote')!;
        const result = await sum.call({ a: 20, b: 22 }, context());
        assert.equal(result.isError, false);
        assert.match(result.output, /42/);
      } finally {
        await pool.close();
      }
    });
  }
});
