import {
  type ActivityOptions,
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { toolSource, type AgentLoopState, type AgentRunInput, type ToolPolicy, type TranscriptEntry } from '../shared/agent-run.ts';
import type { ReplyOutcome } from '../shared/chat-run.ts';
import type { ModelStepCall } from '../activities/agent/model-step.ts';

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
  const publisher = proxyActivities<Activities>({ ...publish, summary: 'show the tool output' });
  const state: AgentLoopState = carried ?? { stepNumber: 0, transcript: [], requestSaved: false };

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
    const requestSaved = await saved;
    await closer.finishRun(input, ended, { requestSaved });
  });
  return ended;
}

/**
 * Runs one step's tool calls in parallel. Each output is shown to the client as soon as its call ends
 * (publishes are chained: one writer on the run's stream at a time). A call that fails for good (tool
 * down past its retries, timed out) becomes an error result the model sees, and the run goes on.
 */
async function runToolCalls(input: AgentRunInput, stepNumber: number, calls: ModelStepCall[], publisher: ReturnType<typeof proxyActivities<Activities>>): Promise<TranscriptEntry[]> {
  let published: Promise<unknown> = Promise.resolve();
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
      // Shown even when the run is being stopped: the call did finish.
      published = published.then(() =>
        CancellationScope.nonCancellable(() =>
          publisher.agentPublishToolOutput(input, { type: 'tool_output', stepId: call.stepId, index: call.contentIndex, callId: call.id, name: call.name, arguments: call.arguments, output: result.output }),
        ),
      );
      return { role: 'tool' as const, toolCallId: call.id, name: call.name, content: result.output, isError: result.isError };
    }),
  );
  await published;
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<TranscriptEntry>).value);
}
