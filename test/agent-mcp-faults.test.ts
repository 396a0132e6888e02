/**
 * An MCP server misbehaving under an agent run (docs/architecture.md, "Agent runs"): the durachat-tools
 * server with its fault tools on (DURACHAT_MCP_FAULTS=1) and a call log, started by the real worker over
 * stdio. A server that crashes or hangs is retried per its `toolRetry`, then the call becomes an error
 * result the model reads and the run goes on; a long tool with progress outlives the activity's heartbeat
 * timeout; stopping a run mid-tool reaches the server as an MCP cancellation.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { foldAsClient } from './helpers/client-fold.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { agentChat, createToolAgent, entriesOf, named, toolCallOf, waitFor, writeFaultConfig, type FaultConfig } from './helpers/mcp-fault-config.ts';
import { finalEvent, type SseEvent, type SseResult } from './helpers/sse-client.ts';
import { maxActivityAttempt } from './helpers/temporal-history.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;
let faults: FaultConfig;
let token: string;
let agentId: string;

beforeAll(async () => {
  faults = writeFaultConfig();
  stack = await startChatStack({ overrides: { CONFIG_PATH: faults.configPath } });
  http = createHttpClient(stack.app.baseUrl);
  token = (await registerAndLogin(http, 'mcp-faults')).token;
  agentId = await createToolAgent(http, token);
});
afterAll(async () => {
  await stack?.close();
  if (stack) await cleanUpTestData(stack.app.config);
  faults?.remove();
});

/** A completed run whose saved content is what the client folded; returns the saved reply. */
function completedReply(result: SseResult) {
  assert.equal(result.completed, true);
  const saved = finalEvent(result.events)!.data.responseMessage;
  assert.equal(saved.unfinished, false);
  assert.notEqual(saved.error, true);
  assert.deepEqual(saved.content, foldAsClient(result.events), 'the server saved exactly what the client built');
  return saved;
}

const toolPartOf = (saved: { content: Array<{ type: string; tool_call?: any }> }) => saved.content.find((part) => part.type === 'tool_call')!.tool_call;

test('the MCP server crashes mid-call: retried per toolRetry, then an error result the model reads; the next run reconnects', async () => {
  const result = await agentChat(stack.app.baseUrl, token, agentId, 'crash it [tool=crash_mcp_durachat-tools tokens=10]');
  const saved = completedReply(result);
  const call = toolCallOf(result.events)!;
  const crashes = entriesOf(faults.callLogPath, call.idempotencyKey);
  assert.equal(crashes.length, 2, 'maximumAttempts: 2, one server process each');
  assert.notEqual(crashes[0]!.pid, crashes[1]!.pid, 'the second attempt ran on a restarted server');
  const output: string = toolPartOf(saved).output;
  assert.match(output, /^The tool crash_mcp_durachat-tools failed: .*closed the connection/);
  assert.ok(saved.content.at(-1).text.startsWith(`Tool crash_mcp_durachat-tools said: ${output.slice(0, 200)}\n`), 'the model read the error and answered');

  const next = await agentChat(stack.app.baseUrl, token, agentId, 'echo [tool=echo_mcp_durachat-tools arg.message=back-again tokens=5]');
  assert.equal(toolPartOf(completedReply(next)).output, 'back-again');
});

test('the MCP server hangs: the call times out after the server\'s timeout, is retried, then is an error result; the run completes', async () => {
  const started = Date.now();
  const result = await agentChat(stack.app.baseUrl, token, agentId, 'hang [tool=hang_mcp_durachat-tools tokens=10]');
  const saved = completedReply(result);
  assert.ok(Date.now() - started >= 2 * 3000, 'two attempts of 3 s each');
  const call = toolCallOf(result.events)!;
  const attempts = entriesOf(faults.callLogPath, call.idempotencyKey).filter((entry) => entry.event === undefined);
  assert.equal(attempts.length, 2);
  assert.equal(attempts[0]!.pid, attempts[1]!.pid, 'a timeout does not restart the server');
  // The timed-out request is cancelled on the server (the SDK sends notifications/cancelled).
  await waitFor(() => entriesOf(faults.callLogPath, call.idempotencyKey).filter((entry) => entry.event === 'cancelled').length === 2, 5_000, 'both attempts cancelled on the server');
  const output: string = toolPartOf(saved).output;
  assert.match(output, /^The tool hang_mcp_durachat-tools failed: .*did not answer within 3000 ms/);
  assert.ok(saved.content.at(-1).text.startsWith(`Tool hang_mcp_durachat-tools said: ${output.slice(0, 200)}\n`));
});

test('a 25 s tool with progress outlives the 20 s heartbeat timeout and the 3 s request timeout: one call, progress shown, run completes', async () => {
  const result = await agentChat(stack.app.baseUrl, token, agentId, 'count long [tool=slow_count_mcp_durachat-tools arg.seconds=25 arg.steps=25 tokens=10]');
  const saved = completedReply(result);
  const call = toolCallOf(result.events)!;
  assert.equal(toolPartOf(saved).output, 'Counted to 25 in 25 seconds.');
  const log = entriesOf(faults.callLogPath, call.idempotencyKey);
  assert.deepEqual(log.map((entry) => entry.event), ['started', 'finished'], 'called once');
  assert.equal(await maxActivityAttempt(`agent-${saved.messageId}`), 1, 'no activity was retried');

  const completedAt = result.events.findIndex((event) => event.data?.event === 'on_run_step_completed');
  const progress = named(result.events.slice(0, completedAt), 'on_run_step_delta')
    .filter((event) => event.data.data.id === call.stepId)
    .map((event) => event.data.data.delta.tool_calls[0])
    .filter((chunk) => chunk.progressValue !== undefined);
  // Signals are throttled to one per 2 s: about a dozen over 25 s.
  assert.ok(progress.length >= 6, `progress shown while it ran (${progress.length} updates)`);
  const values = progress.map((chunk) => chunk.progressValue as number);
  assert.deepEqual(values, [...values].sort((a, b) => a - b), 'progress only grows');
  assert.ok(progress.every((chunk) => chunk.progressTotal === 25 && chunk.progress > 0 && chunk.progress < 1 && chunk.id === call.callId));
});

test('stopped mid-tool: the MCP server receives the cancellation and the saved reply is unfinished with the call left without output', async () => {
  let seen: SseEvent[] = [];
  const run = agentChat(stack.app.baseUrl, token, agentId, 'count then stop [tool=slow_count_mcp_durachat-tools arg.seconds=30 arg.steps=30 tokens=10]', {
    disconnectWhen: (_event, events) => {
      seen = events;
      return false;
    },
  });
  const call = await waitFor(() => toolCallOf(seen), 30_000, 'the tool step reached the client');
  await waitFor(() => entriesOf(faults.callLogPath, call.idempotencyKey).some((entry) => entry.event === 'started'), 30_000, 'slow_count started');
  const conversationId = seen[0]!.data.conversationId as string;
  const aborted = await http.post('/api/agents/chat/abort', { token, body: { conversationId } });
  assert.equal(aborted.status, 200, JSON.stringify(aborted.body));
  const cancelled = await waitFor(() => entriesOf(faults.callLogPath, call.idempotencyKey).find((entry) => entry.event === 'cancelled'), 10_000, 'the cancellation reached the MCP server');
  assert.ok(cancelled);
  assert.ok(!entriesOf(faults.callLogPath, call.idempotencyKey).some((entry) => entry.event === 'finished'));

  const result = await run;
  assert.equal(result.completed, true);
  const final = finalEvent(result.events)!.data;
  assert.equal(final.aborted, true);
  const messages = await http.get(`/api/messages/${conversationId}`, { token });
  const reply = messages.body.find((message: { isCreatedByUser: boolean }) => !message.isCreatedByUser);
  assert.equal(reply.unfinished, true);
  const toolPart = toolPartOf(reply);
  assert.equal(toolPart.id, call.callId);
  assert.equal(toolPart.output, undefined, 'the call did not finish');
  assert.deepEqual(reply.content, foldAsClient(result.events), 'the server saved exactly what the client built');
  assert.ok(!named(result.events, 'on_run_step_completed').length, 'no output was shown');
});
