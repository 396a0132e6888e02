/**
 * Agent runs under real process deaths: the worker (workers/worker.ts, with its durachat-tools MCP server
 * over stdio) and the API (api/server.ts) run as child processes and are SIGKILLed mid-run. The decisions
 * proved are in docs/architecture.md ("Agent runs", "Failure semantics"): a tool call whose worker died is
 * retried with the same idempotency key; a finished call is never made again; the stream carries on across
 * API processes; what the client folded is what is saved.
 *
 * A worker kill costs the heartbeat timeout of the activity it ran: 20 s for a tool call, 5 s for a model
 * step. The replacement started by one case is the worker the next case uses.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, test } from 'vitest';
import { findFreePort, waitForPort } from '../infra/local-services.ts';
import { spawnEntryPoint, startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { killHard, outputLine, stopGently } from './helpers/child-stack.ts';
import { foldAsClient } from './helpers/client-fold.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { agentChat, createToolAgent, entriesOf, named, readCallLog, toolCallOf, waitFor, writeFaultConfig, type FaultConfig } from './helpers/mcp-fault-config.ts';
import { finalEvent, requestSse, type SseEvent } from './helpers/sse-client.ts';
import { maxActivityAttempt } from './helpers/temporal-history.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;
let faults: FaultConfig;
let token: string;
let agentId: string;
/** The live worker process: a kill case replaces it. */
let worker: ChildProcess | undefined;

const spawnWorker = () => spawnEntryPoint('workers/worker.ts', stack.environment);

beforeAll(async () => {
  faults = writeFaultConfig();
  stack = await startChatStack({ worker: false, overrides: { CONFIG_PATH: faults.configPath } });
  worker = spawnWorker();
  const http = createHttpClient(stack.app.baseUrl);
  token = (await registerAndLogin(http, 'agent-durable')).token;
  agentId = await createToolAgent(http, token);
  await outputLine(worker, /worker serving/, 60_000);
});
afterAll(async () => {
  if (worker) await stopGently(worker);
  await stack?.close();
  if (stack) await cleanUpTestData(stack.app.config);
  faults?.remove();
});

test('the worker is SIGKILLed while an MCP tool runs: the call is retried with the same idempotency key and the client sees one run', async () => {
  let seen: SseEvent[] = [];
  const run = agentChat(stack.app.baseUrl, token, agentId, 'count slowly [tool=slow_count_mcp_durachat-tools arg.seconds=6 arg.steps=6 tokens=20 rate=20]', {
    disconnectWhen: (_event, events) => {
      seen = events;
      return false;
    },
  });
  const call = await waitFor(() => toolCallOf(seen), 30_000, 'the tool step reached the client');
  const started = await waitFor(() => entriesOf(faults.callLogPath, call.idempotencyKey).find((entry) => entry.event === 'started'), 30_000, 'slow_count started');
  const victim = worker!;
  await killHard(victim);
  worker = spawnWorker();

  const result = await run;
  assert.equal(result.completed, true);
  const final = finalEvent(result.events)!.data;
  const saved = final.responseMessage;
  assert.equal(saved.unfinished, false);
  assert.deepEqual(saved.content, foldAsClient(result.events), 'the server saved exactly what the client built');
  assert.equal(result.events.filter((event) => event.data?.final === true).length, 1, 'one final event');
  assert.equal(named(result.events, 'on_run_step_completed').length, 1, 'the output was shown once');
  const toolPart = saved.content.find((part: { type: string }) => part.type === 'tool_call');
  assert.equal(toolPart.tool_call.id, call.callId);
  assert.equal(toolPart.tool_call.output, 'Counted to 6 in 6 seconds.');
  assert.match(saved.content.at(-1).text, /^Tool slow_count_mcp_durachat-tools said: Counted to 6 in 6 seconds\.\n/);

  // Started again by the replacement's own MCP server, with the same key: a retry, not a new call.
  const starts = entriesOf(faults.callLogPath, call.idempotencyKey).filter((entry) => entry.event === 'started');
  assert.equal(starts.length, 2, JSON.stringify(starts));
  assert.equal(starts[0]!.pid, started.pid);
  assert.notEqual(starts[1]!.pid, started.pid, 'the retry ran on another MCP server process');
  assert.ok(entriesOf(faults.callLogPath, call.idempotencyKey).some((entry) => entry.event === 'finished' && entry.pid === starts[1]!.pid));
  assert.ok((await maxActivityAttempt(`agent-${saved.messageId}`)) >= 2, 'the tool activity was retried');
});

test('the worker is SIGKILLed during the answer after a tool call: the call is not made again and the answer continues seamlessly', async () => {
  const label = `once-${Date.now().toString(36)}`;
  let killed: Promise<void> | undefined;
  const result = await agentChat(stack.app.baseUrl, token, agentId, `count it [tool=counter_mcp_durachat-tools arg.key=${label} tokens=200 rate=20]`, {
    disconnectWhen: (_event, events) => {
      const completedAt = events.findIndex((event) => event.data?.event === 'on_run_step_completed');
      if (!killed && completedAt >= 0 && named(events.slice(completedAt), 'on_message_delta').length >= 5) {
        const victim = worker!;
        killed = killHard(victim).then(() => {
          worker = spawnWorker();
        });
      }
      return false;
    },
  });
  assert.ok(killed, 'the worker was killed mid-answer');
  await killed;
  assert.equal(result.completed, true);
  const saved = finalEvent(result.events)!.data.responseMessage;
  assert.equal(saved.unfinished, false);
  assert.deepEqual(saved.content, foldAsClient(result.events), 'the server saved exactly what the client built');
  const calls = readCallLog(faults.callLogPath).filter((entry) => entry.tool === 'counter' && entry.key === label);
  assert.equal(calls.length, 1, 'the finished call was not made again');
  const quote = `Tool counter_mcp_durachat-tools said: counted ${label}\n`;
  const answer: string = saved.content.at(-1).text;
  assert.ok(answer.startsWith(quote), answer.slice(0, 80));
  assert.equal(answer.slice(quote.length).split(' ').length, 200, 'the answer continued where it was cut, without repeating');
  assert.ok((await maxActivityAttempt(`agent-${saved.messageId}`)) >= 2, 'the model step was retried');
});

test('the API is killed and restarted mid-run: the client resumes the agent run with no gap and no repeat', async () => {
  const port = await findFreePort();
  const apiEnvironment = { ...stack.environment, PORT: String(port) };
  let api = spawnEntryPoint('api/server.ts', apiEnvironment);
  try {
    await waitForPort(port, 'api', api, 30_000);
    const baseUrl = `http://127.0.0.1:${port}`;
    // Read until the tool reports progress, then the API dies: the rest of the tool, its output and the
    // answer are written while no API process is up.
    const before = await agentChat(baseUrl, token, agentId, 'count across a restart [tool=slow_count_mcp_durachat-tools arg.seconds=4 arg.steps=4 tokens=150 rate=25]', {
      disconnectWhen: (_event, events) => named(events, 'on_run_step_delta').some((event) => event.data.data.delta.tool_calls?.[0]?.progressValue !== undefined),
    });
    assert.equal(before.completed, false);
    await killHard(api);
    const { streamId } = before.events[0]!.data;
    api = spawnEntryPoint('api/server.ts', apiEnvironment);
    await waitForPort(port, 'api', api, 30_000);
    const rest = await requestSse(`${baseUrl}/api/agents/chat/stream/${streamId}`, { token, lastEventId: before.events.at(-1)!.id, timeoutMs: 60_000 });
    assert.equal(rest.completed, true);
    assert.equal(named(rest.events, 'on_run_step_completed').length, 1, 'the tool output, written while no API was up, reached the resumed client');
    const saved = finalEvent(rest.events)!.data.responseMessage;
    const all = [...before.events, ...rest.events];
    assert.deepEqual(saved.content, foldAsClient(all), 'both halves fold to the saved content');
    const ids = all.map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    assert.equal(saved.content.find((part: { type: string }) => part.type === 'tool_call').tool_call.output, 'Counted to 4 in 4 seconds.');
  } finally {
    await stopGently(api);
  }
});
