import {
  type ActivityOptions,
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  setHandler,
  log,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { toolSource, type AgentLoopState, type AgentRunInput, type ToolPolicy, type TranscriptEntry } from '../shared/agent-run.ts';
import type { ReplyOutcome } from '../shared/chat-run.ts';
import type { ToolOutputEvent, ToolProgressEvent } from '../shared/run-events.ts';
import type { ModelStepCall } from '../activities/agent/model-step.ts';
import { toolProgressSignal, type ToolProgressUpdate } from './agent-run-signals.ts';

const dbWrite: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 100 },
};

/** One model step: streamed like a chat reply (heartbeats, retries that continue what was streamed). */
const modelStep: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '15 seconds',
    maximumAttempts: 6,
    nonRetryableErrorTypes: ['ProviderRequestRejected', 'ContextTooLong', 'PromptUnavailable', 'Superseded', 'EndpointUnavailable'],
  },
};

/** Writing a finished tool's output to the run's stream: quick, retried through a Redis blip. */
const publish: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 20 },
};

const DEFAULT_POLICY: ToolPolicy = { maxDurationMs: 60 * 60_000, maximumAttempts: 3, initialIntervalMs: 1000 };

/**
 * A tool call's activity options, from its source's policy (librechat.yaml): the heartbeat timeout
 * notices a dead worker within seconds whatever the tool's own bound; cancellation waits for the tool to
 * stop (the MCP cancellation is sent) before the run closes.
 */
function toolCallOptions(policy: ToolPolicy, name: string): ActivityOptions {
  return {
    startToCloseTimeout: policy.maxDurationMs,
    heartbeatTimeout: '20 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: policy.initialIntervalMs, backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: policy.maximumAttempts, nonRetryableErrorTypes: ['ToolRefused'] },
    summary: `tool ${name}`,
  };
}

function describeFailure(error: unknown): string {
  let cause: unknown = error;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure || cause instanceof Error) return cause.message;
  return 'The reply could not be generated.';
}

/** Past this many events the loop continues as new (Temporal's own suggestion comes near 10,000 events / 10 MB; the run never gets there). */
const HISTORY_EVENTS_BEFORE_CONTINUE = 4000;

/**
 * An agent run (workflow id `agent-<responseMessageId>`): save the request, then model step → tool calls
 * → model step … until the model answers without calling a tool or the agent's recursion limit is
 * reached. Each tool call is an activity of its own (retried per its source's policy, visible by name in
 * the Temporal UI); the calls of one step run in parallel. A finished call is never made again: its result
 * is in the history (or, after continue-as-new, in the carried transcript). The run is always closed.
 */
export async function agentRunWorkflow(input: AgentRunInput, carried?: AgentLoopState): Promise<ReplyOutcome> {
  const model = `${input.model} on ${input.endpoint}`;
  const db = proxyActivities<Activities>({ ...dbWrite, summary: 'save the request' });
  const closer = proxyActivities<Activities>({ ...dbWrite, summary: 'save the reply and close the run' });
  const publisher = createPublisher(input);
  const state: AgentLoopState = carried ?? { stepNumber: 0, transcript: [], requestSaved: false };
  setHandler(toolProgressSignal, (update) => publisher.progress(update));

  const loop = new CancellationScope();
  let saveFailure: string | undefined;
  const saved = state.requestSaved
    ? Promise.resolve(true)
    : CancellationScope.nonCancellable(() => db.saveRequest(input)).then(
        () => true,
        (error: unknown) => {
          saveFailure = describeFailure(error);
          log.error('saving the request failed for good', { streamId: input.streamId, error: saveFailure });
          loop.cancel();
          return false;
        },
      );

  let outcome: ReplyOutcome | undefined;
  try {
    outcome = await loop.run(async () => {
      while (true) {
        state.stepNumber += 1;
        const llm = proxyActivities<Activities>({ ...modelStep, summary: `step ${state.stepNumber}: ${model}` });
        const step = await llm.agentModelStep(input, { stepNumber: state.stepNumber, transcript: state.transcript });
        if (step.toolCalls.length === 0) return { status: 'completed', finishReason: step.finishReason } satisfies ReplyOutcome;
        if (state.stepNumber >= input.agent.recursionLimit) {
          return { status: 'error', errorMessage: `The agent stopped after ${state.stepNumber} steps (its recursion limit) without a final answer.` } satisfies ReplyOutcome;
        }
        const results = await runToolCalls(input, state.stepNumber, step.toolCalls, publisher);
        state.transcript.push({ role: 'assistant', content: step.text, toolCalls: step.toolCalls.map(({ id, name, arguments: args, signature }) => ({ id, name, arguments: args, ...(signature ? { signature } : {}) })) });
        state.transcript.push(...results);
        if (workflowInfo().historyLength > (input.historyEventsBeforeContinue ?? HISTORY_EVENTS_BEFORE_CONTINUE) || workflowInfo().continueAsNewSuggested) {
          await saved;
          log.info('continuing as new', { streamId: input.streamId, stepNumber: state.stepNumber });
          await continueAsNew<typeof agentRunWorkflow>(input, { ...state, requestSaved: true });
        }
      }
    });
  } catch (error) {
    // Not an end: the same run goes on in a fresh history (nothing is closed).
    if (error instanceof ContinueAsNew) throw error;
    if (saveFailure !== undefined) outcome = { status: 'error', errorMessage: `Your message could not be saved: ${saveFailure}` };
    else if (isCancellation(error)) outcome = { status: 'aborted' };
    else {
      outcome = { status: 'error', errorMessage: describeFailure(error) };
      log.warn('agent run failed', { streamId: input.streamId, error: outcome.errorMessage });
    }
  }
  const ended = outcome!;
  await CancellationScope.nonCancellable(async () => {
    await publisher.drained();
    const requestSaved = await saved;
    await closer.finishRun(input, ended, { requestSaved });
  });
  return ended;
}

type Publisher = ReturnType<typeof createPublisher>;

/**
 * Writes what the workflow itself shows the client (finished tools' outputs, running tools' progress),
 * one activity after another: with model steps never running beside them, the run's stream has a single
 * writer at a time. Progress is coalesced (only a call's latest is written) and dropped once the call ends.
 */
function createPublisher(input: AgentRunInput) {
  const activities = proxyActivities<Activities>({ ...publish, summary: 'show tool output or progress' });
  let chain: Promise<unknown> = Promise.resolve();
  const calls = new Map<string, ModelStepCall>();
  const pendingProgress = new Map<string, ToolProgressEvent>();
  let progressQueued = false;

  function enqueue(write: () => Promise<unknown>) {
    // Shown even while the run is being stopped (the call did finish); a write that fails for good is
    // logged, not fatal: the output is in the transcript either way.
    chain = chain.then(() => CancellationScope.nonCancellable(write)).catch((error: unknown) => log.warn('could not show a tool event', { streamId: input.streamId, error: describeFailure(error) }));
  }
  return {
    track(call: ModelStepCall) {
      calls.set(call.id, call);
    },
    output(event: ToolOutputEvent) {
      calls.delete(event.callId);
      pendingProgress.delete(event.callId);
      enqueue(() => activities.agentPublishEvent(input, event));
    },
    progress(update: ToolProgressUpdate) {
      const call = calls.get(update.callId);
      if (!call) return;
      pendingProgress.set(call.id, { type: 'tool_progress', stepId: call.stepId, index: call.contentIndex, callId: call.id, name: call.name, progress: update.progress, total: update.total, message: update.message?.slice(0, 500) });
      if (progressQueued) return;
      progressQueued = true;
      enqueue(async () => {
        progressQueued = false;
        const events = [...pendingProgress.values()];
        pendingProgress.clear();
        for (const event of events) if (calls.has(event.callId)) await activities.agentPublishEvent(input, event);
      });
    },
    /** Resolves once everything queued so far is written. */
    drained(): Promise<unknown> {
      return chain;
    },
  };
}

/**
 * Runs one step's tool calls in parallel. Each output is shown to the client as soon as its call ends.
 * A call that fails for good (tool down past its retries, timed out) becomes an error result the model
 * sees, and the run goes on.
 */
async function runToolCalls(input: AgentRunInput, stepNumber: number, calls: ModelStepCall[], publisher: Publisher): Promise<TranscriptEntry[]> {
  for (const call of calls) publisher.track(call);
  // Settled, not raced: when the run is stopped, every call is let finish cancelling, and every output
  // of a call that did finish is shown, before the run is closed (nothing is written after the end).
  const settled = await Promise.allSettled(
    calls.map(async (call) => {
      const policy = input.toolPolicies[toolSource(call.name)] ?? input.toolPolicies.default ?? DEFAULT_POLICY;
      const tools = proxyActivities<Activities>(toolCallOptions(policy, call.name));
      let result: { output: string; isError: boolean };
      try {
        result = await tools.agentToolCall({ userId: input.userId, allowedTools: input.agent.tools, callId: call.id, name: call.name, arguments: call.arguments, maxDurationMs: policy.maxDurationMs, stepNumber });
      } catch (error) {
        if (isCancellation(error)) throw error;
        result = { output: `The tool ${call.name} failed: ${describeFailure(error)}`, isError: true };
      }
      publisher.output({ type: 'tool_output', stepId: call.stepId, index: call.contentIndex, callId: call.id, name: call.name, arguments: call.arguments, output: result.output });
      return { role: 'tool' as const, toolCallId: call.id, name: call.name, content: result.output, isError: result.isError };
    }),
  );
  await publisher.drained();
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<TranscriptEntry>).value);
}
