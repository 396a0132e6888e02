/**
 * The toolbox between an agent's tool keys and the tools a worker can run: built-in tools by key, MCP tools
 * through a real pool and the real durachat-tools server (stdio), the agent's list as the authority.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { mcpServersSchema } from '../../shared/mcp-config.ts';
import { createBuiltinTools } from './builtin/index.ts';
import { createMcpPool, type McpPool } from './mcp/mcp-pool.ts';
import { createToolbox, type Toolbox } from './toolbox.ts';
import { ToolUnavailableError } from './tool-types.ts';

const durachatTools = path.resolve(import.meta.dirname, '../../workers/mcp-servers/durachat-tools.ts');
let pool: McpPool;
let toolbox: Toolbox;

beforeAll(() => {
  pool = createMcpPool({
    servers: mcpServersSchema.parse({
      tools: { command: process.execPath, args: ['--import', 'tsx', durachatTools], stderr: 'ignore', serverInstructions: 'Echo repeats; word_count counts.' },
      // Nothing listens there: the server is down.
      gone: { type: 'streamable-http', url: 'http://127.0.0.1:9/mcp', initTimeout: 2000, timeout: 2000 },
    }),
    log: { info: () => {}, warn: () => {} },
  });
  toolbox = createToolbox({ builtins: createBuiltinTools(), mcp: pool });
});
afterAll(async () => {
  await pool.close();
});

test('offers exactly the agent\'s tools: built-in keys, single MCP tools and whole servers', async () => {
  const one = await toolbox.definitions('u1', ['calculator', 'echo_mcp_tools']);
  assert.deepEqual(one.map((tool) => tool.name), ['calculator', 'echo_mcp_tools']);
  const whole = await toolbox.definitions('u1', ['sys__all__sys_mcp_tools']);
  assert.deepEqual(whole.map((tool) => tool.name).sort(), ['echo_mcp_tools', 'slow_count_mcp_tools', 'word_count_mcp_tools']);
  assert.deepEqual(await toolbox.definitions('u1', ['no_such_tool']), []);
});

test('finds only tools the agent was given', async () => {
  assert.ok(await toolbox.find('u1', ['echo_mcp_tools'], 'echo_mcp_tools'));
  assert.equal(await toolbox.find('u1', ['echo_mcp_tools'], 'word_count_mcp_tools'), undefined);
  assert.equal(await toolbox.find('u1', ['echo_mcp_tools'], 'calculator'), undefined);
  const echo = await toolbox.find('u1', ['sys__all__sys_mcp_tools'], 'echo_mcp_tools');
  const result = await echo!.call({ message: 'hello' }, { userId: 'u1', idempotencyKey: 'wf:call_1', signal: new AbortController().signal });
  assert.deepEqual(result, { output: 'hello', isError: false });
});

test('a server that is down: its tools are not offered this step, and a call to one is retryable', async () => {
  const offered = await toolbox.definitions('u1', ['calculator', 'sys__all__sys_mcp_gone']);
  assert.deepEqual(offered.map((tool) => tool.name), ['calculator']);
  await assert.rejects(toolbox.find('u1', ['sys__all__sys_mcp_gone'], 'anything_mcp_gone'), ToolUnavailableError);
});

test('server instructions go to the model for the servers the agent uses', async () => {
  assert.match((await toolbox.instructions('u1', ['echo_mcp_tools'])) ?? '', /MCP server tools:\nEcho repeats; word_count counts\./);
  assert.equal(await toolbox.instructions('u1', ['calculator']), undefined);
});
