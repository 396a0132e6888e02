/**
 * Per-tool-call overhead of durachat's agent runs (bench/README.md, "Agents"): an MCP tool called through an
 * agent run, versus the same tool called directly with the MCP SDK.
 *   direct:   the SDK's Client over stdio to workers/mcp-servers/durachat-tools.ts, `echo`, one call at a time.
 *   durachat: an agent (bench stack: API, worker, fake model) whose model calls `echo_mcp_durachat-tools`
 *             round after round (`rounds=N`); per call, from the moment the client has the call's complete
 *             arguments (its last `on_run_step_delta`, the model step's end) to its `on_run_step_completed`.
 *             That span is the model step's activity completing, a workflow task, the tool activity scheduled
 *             and picked up, the MCP call itself, a workflow task, the output written by its publish activity
 *             and relayed to the client through Redis and SSE.
 * Usage: npm run bench -- --tool-overhead [--calls 60] [--rounds 10]
 */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { argument, isMain, root, startBenchStack } from './bench-stack.ts';
import { percentile } from './process-stats.ts';
import { readSse } from '../test/helpers/sse-client.ts';

const TOOL = 'echo_mcp_durachat-tools';

async function directCalls(count: number): Promise<number[]> {
  const client = new Client({ name: 'durachat-bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', path.join(root, 'workers/mcp-servers/durachat-tools.ts')], cwd: root, stderr: 'ignore' }));
  const samples: number[] = [];
  try {
    for (let index = 0; index < count + 5; index += 1) {
      const started = performance.now();
      await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
      if (index >= 5) samples.push(performance.now() - started);
    }
  } finally {
    await client.close();
  }
  return samples;
}

/** One agent run of `rounds` echo calls; the SSE arrival-time span of each call (see the header). */
async function agentRun(baseUrl: string, token: string, agentId: string, rounds: number): Promise<{ spans: number[]; roundTrips: number[] }> {
  const response = await fetch(`${baseUrl}/api/agents/chat/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ endpoint: 'agents', agent_id: agentId, conversationId: null, text: `bench [tool=${TOOL} arg.message=hi rounds=${rounds} tokens=1]` }),
  });
  if (!response.ok) throw new Error(`agent run refused: ${response.status} ${await response.text()}`);
  const argsDone = new Map<string, number>();
  const spans: number[] = [];
  const completedAt: number[] = [];
  await readSse(response, ({ event, data: payload }) => {
    const now = performance.now();
    if (event === 'error') throw new Error(`agent run failed: ${JSON.stringify(payload)}`);
    if (payload.event === 'on_run_step_delta') argsDone.set(payload.data.id, now);
    else if (payload.event === 'on_run_step_completed') {
      const since = argsDone.get(payload.data.result.id);
      if (since !== undefined) spans.push(now - since);
      completedAt.push(now);
    }
    return false;
  });
  if (spans.length !== rounds) throw new Error(`expected ${rounds} tool calls, saw ${spans.length}`);
  const roundTrips = completedAt.slice(1).map((at, index) => at - completedAt[index]!);
  return { spans, roundTrips };
}

const format = (values: number[]) => `p50 ${percentile(values, 0.5).toFixed(1)} ms, p99 ${percentile(values, 0.99).toFixed(1)} ms (n=${values.length})`;

export async function main() {
  const calls = Number(argument('calls', '60'));
  const rounds = Number(argument('rounds', '10'));
  const direct = await directCalls(calls);
  console.log(`direct MCP SDK call (stdio, echo): ${format(direct)}`);

  const stack = await startBenchStack();
  try {
    const token = await stack.login();
    const baseUrl = stack.apis[0]!.baseUrl;
    const created = await (await fetch(`${baseUrl}/api/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', provider: 'demo', model: 'demo-fast', tools: [TOOL] }),
    })).json();
    // A warm-up run: the worker's MCP connection, the workflow cache and the JIT.
    await agentRun(baseUrl, token, created.id, 3);
    const spans: number[] = [];
    const roundTrips: number[] = [];
    for (let done = 0; done < calls; done += rounds) {
      const run = await agentRun(baseUrl, token, created.id, Math.min(rounds, calls - done));
      spans.push(...run.spans);
      roundTrips.push(...run.roundTrips);
    }
    console.log(`through durachat (arguments complete → output at the client): ${format(spans)}`);
    console.log(`added by durachat (p50 minus the direct call's p50): ${(percentile(spans, 0.5) - percentile(direct, 0.5)).toFixed(1)} ms`);
    console.log(`one whole round (output → next output: model step + tool call): ${format(roundTrips)}`);
  } finally {
    await stack.shutdown();
  }
}

if (isMain(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
