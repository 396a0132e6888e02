/**
 * The agent workflow in Temporal's test environment (dev server from the installed CLI), with the real
 * activities against FerretDB, Redis and the fake provider, which scripts tool calls. Tools are the
 * built-in ones plus a few test tools (a slow one, one that is always down) registered beside them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import mongoose from 'mongoose';
import { createActivities } from '../activities/index.ts';
import { createBuiltinTools } from '../activities/tools/builtin/index.ts';
import { createToolbox } from '../activities/tools/toolbox.ts';
import { ToolUnavailableError, type RunnableTool } from '../activities/tools/tool-types.ts';
import type { AgentRunInput } from '../shared/agent-run.ts';
import { foldReply } from '../shared/run-content.ts';
import { readEvents } from '../shared/run-stream.ts';
import { loadConfig } from '../shared/config.ts';
import { connectDatabase } from '../shared/database.ts';
import { Message } from '../shared/models/index.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { cleanUpTestData, testEnvironment } from '../test/helpers/test-app.ts';
import { demoTurnInput, writeCreated } from '../test/helpers/chat-run-input.ts';
import { createLocalTestEnvironment, workflowSource } from '../test/helpers/temporal-test-environment.ts';
import { testActivityDependencies } from '../test/helpers/activity-dependencies.ts';
import { startFakeProvider, type FakeProvider } from '../workers/demo-provider/openai-compatible-server.ts';
import { createTokenCounter } from '../workers/token-counter.ts';
import { agentRunWorkflow } from './agent-run.ts';

const fixtures = path.join(import.meta.dirname, 'fixtures');
const recordTo = path.join(fixtures, 'agent-completed-v1.history.json');

let environment: TestWorkflowEnvironment;
let provider: FakeProvider;
let worker: Worker;
let running: Promise<void>;
const redis = createRedisClient('redis://127.0.0.1:6379', 'agent-workflow-test');
const tokenCounter = createTokenCounter({ maxThreads: 1 });
let config: ReturnType<typeof loadConfig>;
const taskQueue = `agent-workflow-test-${randomUUID().slice(0, 8)}`;

const calls: Record<string, number> = {};
const slowToolStarted: string[] = [];
const slowToolAborted: string[] = [];
const testTools: RunnableTool[] = [
  {
    definition: { name: 'slow_tool', description: 'Waits until cancelled (test).', parameters: { type: 'object', properties: {} } },
    async call(_args, context) {
      calls.slow_tool = (calls.slow_tool ?? 0) + 1;
      slowToolStarted.push(context.idempotencyKey);
      await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      slowToolAborted.push(context.idempotencyKey);
      throw context.signal.reason;
    },
  },
  {
    definition: { name: 'progress_tool', description: 'Reports progress three times over five seconds (test).', parameters: { type: 'object', properties: {} } },
    async call(_args, context) {
      for (let step = 1; step <= 3; step += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1700));
        context.onProgress?.({ progress: step, total: 4, message: `step ${step}` });
      }
      return { output: 'done in three steps', isError: false };
    },
  },
  {
    definition: { name: 'always_down', description: 'Its server never answers (test).', parameters: { type: 'object', properties: {} } },
    async call() {
      calls.always_down = (calls.always_down ?? 0) + 1;
      throw new ToolUnavailableError('connection refused by the test server');
    },
  },
];

beforeAll(async () => {
  environment = await createLocalTestEnvironment();
  provider = await startFakeProvider();
  config = loadConfig(testEnvironment({ DEMO_PROVIDER_URL: provider.url }));
  await connectDatabase(config.MONGO_URI);
  const builtins = createBuiltinTools();
  for (const tool of testTools) builtins.set(tool.definition.name, tool);
  const activities = createActivities(testActivityDependencies({ redis, config, tokenCounter, streamMaxLength: 5000, toolbox: createToolbox({ builtins }) }));
  worker = await Worker.create({ connection: environment.nativeConnection, taskQueue, activities, maxHeartbeatThrottleInterval: '1 second', ...workflowSource });
  running = worker.run();
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await environment.teardown();
  await provider.close();
  await tokenCounter.close();
  await redis.quit();
  if (mongoose.connection.readyState === 1) await cleanUpTestData(config);
});

const fastPolicy = { maxDurationMs: 20_000, maximumAttempts: 2, initialIntervalMs: 100 };

async function input(text: string, overrides: Partial<AgentRunInput> = {}): Promise<AgentRunInput> {
  const run: AgentRunInput = {
    ...demoTurnInput(text, { sender: 'Test agent' }),
    agent: { id: 'agent_test', name: 'Test agent', instructions: 'You are a test agent.', tools: ['calculator', 'current_datetime', 'slow_tool', 'always_down', 'progress_tool'], recursionLimit: 25 },
    toolPolicies: { builtin: fastPolicy, default: fastPolicy },
    savedAs: { endpoint: 'agents', agent_id: 'agent_test', replyModel: 'agent_test' },
    ...overrides,
  };
  await writeCreated(redis, config.REDIS_KEY_PREFIX, run, 300);
  return run;
}

const streamKey = (run: AgentRunInput) => createRedisKeys(config.REDIS_KEY_PREFIX).chatStream(run.streamId);

async function activityNames(handle: { fetchHistory(): Promise<{ events?: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null }> | null }> }) {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
}

describe('agentRunWorkflow', () => {
  test('model step → tool call → model step: the result reaches the model, the saved content holds text, tool call and answer', async () => {
    const run = await input('what is six times seven [tool=calculator arg.input=6*7 tokens=5]');
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    assert.deepEqual(await handle.result(), { status: 'completed', finishReason: 'stop' });

    const events = (await readEvents(redis, streamKey(run))).map((item) => item.event);
    assert.equal(events.at(-1)!.type, 'final');
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ text: string; content: Array<Record<string, any>>; endpoint: string; model: string; sender: string }>();
    assert.ok(reply);
    assert.deepEqual(reply.content.map((part) => part.type), ['text', 'tool_call', 'text']);
    const call = reply.content[1]!.tool_call;
    assert.equal(call.name, 'calculator');
    assert.equal(call.args, '{"input":"6*7"}');
    assert.equal(call.output, '42');
    assert.equal(call.progress, 1);
    assert.match(reply.content[2]!.text, /^Tool calculator said: 42\n/);
    assert.deepEqual(reply.content, foldReply(events).content, 'saved exactly as the stream folds');
    assert.equal(reply.endpoint, 'agents');
    assert.equal(reply.model, 'agent_test');
    assert.equal(reply.sender, 'Test agent');
    // The step events carry each part's position, as the client folds by index.
    const steps = events.filter((event) => event.type === 'step');
    assert.deepEqual(steps.map((step) => (step as { index: number }).index), [0, 1, 2]);
    assert.deepEqual(steps.map((step) => (step as { kind: string }).kind), ['message', 'tool_calls', 'message']);

    const history = await handle.fetchHistory();
    const names = (history.events ?? []).map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    assert.deepEqual(names, ['saveRequest', 'agentModelStep', 'agentToolCall', 'agentPublishEvent', 'agentModelStep', 'finishRun']);
    const historyJson = historyToJSON(history);
    if (process.env.RECORD_WORKFLOW_HISTORY === '1') writeFileSync(recordTo, historyJson);
    await Worker.runReplayHistory(workflowSource, JSON.parse(historyJson), handle.workflowId);
  });

  test('saved agent histories replay without non-determinism', async () => {
    const saved = readdirSync(fixtures).filter((name) => name.startsWith('agent-') && name.endsWith('.history.json'));
    assert.ok(saved.length >= 1, 'an agent history is committed');
    for (const name of saved) await Worker.runReplayHistory(workflowSource, JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')), name);
  });

  test('the calls of one step run in parallel, each its own activity', async () => {
    const run = await input('two tools [tool=calculator,current_datetime arg.input=1+1 tokens=3]');
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    assert.equal(((await handle.result()) as { status: string }).status, 'completed');
    const history = await handle.fetchHistory();
    const order = (history.events ?? []).flatMap((event) => {
      const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (scheduled === 'agentToolCall') return ['scheduled'];
      if (event.activityTaskCompletedEventAttributes) return ['completed'];
      return [];
    });
    const firstScheduled = order.indexOf('scheduled');
    assert.equal(order[firstScheduled + 1], 'scheduled', 'both calls were scheduled before anything after them completed');
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ content: Array<Record<string, any>> }>();
    const toolParts = reply!.content.filter((part) => part.type === 'tool_call');
    assert.deepEqual(toolParts.map((part) => part.tool_call.name).sort(), ['calculator', 'current_datetime']);
    assert.ok(toolParts.every((part) => typeof part.tool_call.output === 'string' && part.tool_call.output.length > 0));
    assert.equal(new Set(toolParts.map((part) => part.tool_call.id)).size, 2);
  });

  test('a long loop continues as new, invisibly: one stream, every call made once, the answer at the end', async () => {
    const run = await input('loop [tool=calculator rounds=7 arg.input=2+2 tokens=2]', { historyEventsBeforeContinue: 40 });
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    assert.equal(((await handle.result()) as { status: string }).status, 'completed');
    const description = await handle.describe();
    assert.notEqual(description.runId, description.raw.workflowExecutionInfo?.firstRunId ?? handle.firstExecutionRunId, 'the run continued as new at least once');
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ content: Array<Record<string, any>> }>();
    const toolParts = reply!.content.filter((part) => part.type === 'tool_call');
    assert.equal(toolParts.length, 7);
    assert.equal(new Set(toolParts.map((part) => part.tool_call.id)).size, 7);
    assert.ok(toolParts.every((part) => part.tool_call.output === '4'));
    assert.equal(reply!.content.at(-1)!.type, 'text');
    const events = (await readEvents(redis, streamKey(run))).map((item) => item.event);
    assert.equal(events.filter((event) => event.type === 'final').length, 1);
    assert.equal(events.filter((event) => event.type === 'tool_output').length, 7, 'each output shown once');
  });

  test('the recursion limit ends a run that keeps calling tools, with a clear error and what it did saved', async () => {
    const run = await input('forever [tool=calculator rounds=50 arg.input=1+0 tokens=2]', { agent: { id: 'agent_test', name: 'Test agent', tools: ['calculator'], recursionLimit: 3 } });
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    const outcome = (await handle.result()) as { status: string; errorMessage: string };
    assert.equal(outcome.status, 'error');
    assert.match(outcome.errorMessage, /after 3 steps \(its recursion limit\)/);
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ content: Array<Record<string, any>>; error: boolean }>();
    const toolParts = reply!.content.filter((part) => part.type === 'tool_call');
    assert.equal(toolParts.filter((part) => part.tool_call.output !== undefined).length, 2, 'the two finished rounds are kept');
    assert.equal(toolParts.length, 3, 'the third step\'s call is shown, never run');
  });

  test('a tool that stays down ends, after its retries, as an error result the model sees; the run answers', async () => {
    calls.always_down = 0;
    const run = await input('down [tool=always_down tokens=3]');
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    assert.equal(((await handle.result()) as { status: string }).status, 'completed');
    assert.equal(calls.always_down, fastPolicy.maximumAttempts, 'retried per its policy');
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ content: Array<Record<string, any>> }>();
    const part = reply!.content.find((candidate) => candidate.type === 'tool_call')!;
    assert.match(part.tool_call.output, /The tool always_down failed: connection refused by the test server/);
    assert.match(reply!.content.at(-1)!.text, /Tool always_down said: The tool always_down failed/);
  });

  test('a running tool\'s progress reaches the stream through the workflow, before its output, and is not saved', async () => {
    const run = await input('progress [tool=progress_tool tokens=3]');
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    assert.equal(((await handle.result()) as { status: string }).status, 'completed');
    const events = (await readEvents(redis, streamKey(run))).map((item) => item.event);
    const progress = events.filter((event) => event.type === 'tool_progress') as Array<{ progress: number; total?: number; message?: string; callId: string }>;
    assert.ok(progress.length >= 2, `progress shown (${progress.length} updates; throttled to one per 2 s)`);
    assert.equal(progress.at(-1)!.total, 4);
    assert.ok(progress.every((update, index) => index === 0 || update.progress >= progress[index - 1]!.progress), 'in order');
    const outputAt = events.findIndex((event) => event.type === 'tool_output');
    assert.ok(events.findIndex((event) => event.type === 'tool_progress') < outputAt);
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ content: Array<Record<string, any>> }>();
    assert.equal(reply!.content.find((part) => part.type === 'tool_call')!.tool_call.output, 'done in three steps');
  });

  test('a call to a tool the agent was not given is answered with an error, never run', async () => {
    const run = await input('sneaky [tool=slow_tool tokens=3]', { agent: { id: 'agent_test', name: 'Test agent', tools: ['calculator'], recursionLimit: 5 } });
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    assert.equal(((await handle.result()) as { status: string }).status, 'completed');
    // The fake only calls tools it was offered, and slow_tool is not offered: no call at all.
    assert.deepEqual(await activityNames(handle), ['saveRequest', 'agentModelStep', 'finishRun']);
  });

  test('cancelled while a tool runs: the tool is cancelled, the run closes aborted with the call saved unfinished', async () => {
    const run = await input('stop me [tool=slow_tool tokens=3]');
    const handle = await environment.client.workflow.start(agentRunWorkflow, { workflowId: `agent-${run.responseMessageId}`, taskQueue, args: [run] });
    // Cancelled once the tool itself runs (not merely scheduled, which a loaded worker may not have started).
    const deadline = Date.now() + 20_000;
    while (!slowToolStarted.some((key) => key.startsWith(`agent-${run.responseMessageId}:`))) {
      assert.ok(Date.now() < deadline, 'the tool call started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await handle.cancel();
    assert.deepEqual(await handle.result(), { status: 'aborted' });
    assert.ok(slowToolAborted.some((key) => key.startsWith(`agent-${run.responseMessageId}:`)), 'the tool saw the cancellation');
    const reply = await Message.findOne({ messageId: run.responseMessageId }).lean<{ content: Array<Record<string, any>>; unfinished: boolean }>();
    assert.equal(reply!.unfinished, true);
    const part = reply!.content.find((candidate) => candidate.type === 'tool_call')!;
    assert.equal(part.tool_call.name, 'slow_tool');
    assert.equal(part.tool_call.output, undefined, 'no output: the client shows it cancelled');
  });
});
