import {
  type ActivityOptions,
  ActivityCancellationType,
  CancellationScope,
  CancelledFailure,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  setHandler,
  log,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { streamRefOf, toolSource, type AgentLoopState, type AgentRunInput, type ToolPolicy, type TranscriptEntry } from '../shared/agent-run.ts';
import type { ReplyOutcome } from '../shared/chat-run.ts';
import type { ToolOutputEvent, ToolProgressEvent } from '../shared/run-events.ts';
import type { ModelStepCall } from '../activities/agent/model-step.ts';
import { toolProgressSignal, type ToolProgressUpdate } from './agent-run-signals.ts';
import { dbWrite, failureMessage, modelCall } from './activity-options.ts';

/**
 * Writing a finished tool's output (or progress) to the run's stream: quick, retried through a Redis blip.
 * Its bound is longer than the writer rides out a Redis outage (REDIS_OUTAGE_TOLERANCE_MS, 60 s by default),
 * so an attempt never outlives its timeout and claims the stream after its successor.
 */
const publish: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
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
    // The tool stops itself at its bound and tells the model; this is the backstop for a tool that cannot.
    startToCloseTimeout: policy.maxDurationMs + 30_000,
    heartbeatTimeout: '20 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: policy.initialIntervalMs, backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: policy.maximumAttempts, nonRetryableErrorTypes: ['ToolRefused'] },
    summary: `tool ${name}`,
  };
}

const describeFailure = (error: unknown) => failureMessage(error, 'The reply could not be generated.');

/** Calls of one model step run at once up to this many; the model is told about the rest (they are not run). */
const MAX_PARALLEL_TOOL_CALLS = 16;
/** Progress is shown only while the history is below this (Temporal's hard limit is 51,200 events). */
const PROGRESS_HISTORY_CEILING = 20_000;
/** Tool results carried into later prompts (and continue-as-new) stay under this many characters in all. */
const TRANSCRIPT_OUTPUT_BUDGET = 400_000;

/**
 * Keeps the transcript's tool outputs within budget, oldest first: an old output is replaced by a note
 * (the model still sees that the call was made). Bounds every later model step's input and the state
 * carried by continue-as-new, well under Temporal's 2 MB payload limit.
 */
export function trimTranscript(transcript: TranscriptEntry[]): void {
  let total = transcript.reduce((sum, entry) => sum + (entry.role === 'tool' ? entry.content.length : entry.content.length + entry.toolCalls.reduce((inner, call) => inner + call.arguments.length, 0)), 0);
  for (const entry of transcript) {
    if (total <= TRANSCRIPT_OUTPUT_BUDGET) return;
    if (entry.role !== 'tool' || entry.content.startsWith('[output omitted')) continue;
    const note = `[output omitted to keep the run's history bounded: ${entry.content.length} characters]`;
    total -= entry.content.length - note.length;
    entry.content = note;
  }
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
        const llm = proxyActivities<Activities>({ ...modelCall, summary: `step ${state.stepNumber}: ${model}` });
        const step = await llm.agentModelStep(input, { stepNumber: state.stepNumber, transcript: state.transcript });
        if (step.toolCalls.length === 0) return { status: 'completed', finishReason: step.finishReason } satisfies ReplyOutcome;
        if (state.stepNumber >= input.agent.recursionLimit) {
          return { status: 'error', errorMessage: `The agent stopped after ${state.stepNumber} steps (its recursion limit) without a final answer.` } satisfies ReplyOutcome;
        }
        const results = await runToolCalls(input, state.stepNumber, step.toolCalls, publisher);
        state.transcript.push({ role: 'assistant', content: step.text, toolCalls: step.toolCalls.map(({ id, name, arguments: args, signature }) => ({ id, name, arguments: args, ...(signature ? { signature } : {}) })) });
        state.transcript.push(...results);
        // A stop that came while the step's outputs were being shown must not be carried off into a new run.
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('The run was stopped');
        trimTranscript(state.transcript);
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
  publisher.close();
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
  // What a publish needs of the run (not the whole input, which holds the user's text and the agent's instructions).
  const ref = streamRefOf(input);
  let chain: Promise<unknown> = Promise.resolve();
  const calls = new Map<string, ModelStepCall>();
  const pendingProgress = new Map<string, ToolProgressEvent>();
  let progressQueued = false;
  let closed = false;

  function enqueue(write: () => Promise<unknown>) {
    // Shown even while the run is being stopped (the call did finish); a write that fails for good is
    // logged, not fatal: the output is in the transcript either way.
    chain = chain.then(() => CancellationScope.nonCancellable(write)).catch((error: unknown) => log.warn('could not show a tool event', { streamId: input.streamId, error: describeFailure(error) }));
  }
  return {
    track(call: ModelStepCall) {
      calls.set(call.id, call);
    },
    /** The call settled (finished, failed or cancelled): no more progress for it. */
    untrack(callId: string) {
      calls.delete(callId);
      pendingProgress.delete(callId);
    },
    output(event: ToolOutputEvent) {
      this.untrack(event.callId);
      enqueue(() => activities.agentPublishEvent(ref, event));
    },
    attachment(attachment: Record<string, unknown>) {
      enqueue(() => activities.agentPublishEvent(ref, { type: 'attachment', attachment }));
    },
    progress(update: ToolProgressUpdate) {
      const call = calls.get(update.callId);
      // After the loop ended nothing more is written (the run is being closed); and progress, a nicety,
      // stops before it could crowd the history of a run that stays inside one very long tool call.
      if (!call || closed || workflowInfo().historyLength > PROGRESS_HISTORY_CEILING) return;
      pendingProgress.set(call.id, { type: 'tool_progress', stepId: call.stepId, index: call.contentIndex, callId: call.id, name: call.name, progress: update.progress, total: update.total, message: update.message?.slice(0, 500) });
      if (progressQueued) return;
      progressQueued = true;
      enqueue(async () => {
        progressQueued = false;
        const events = [...pendingProgress.values()];
        pendingProgress.clear();
        for (const event of events) if (calls.has(event.callId) && !closed) await activities.agentPublishEvent(ref, event);
      });
    },
    /** The loop ended: progress still arriving is dropped. */
    close() {
      closed = true;
      calls.clear();
      pendingProgress.clear();
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
  for (const call of calls.slice(0, MAX_PARALLEL_TOOL_CALLS)) publisher.track(call);
  // Settled, not raced: when the run is stopped, every call is let finish cancelling, and every output
  // of a call that did finish is shown, before the run is closed (nothing is written after the end).
  const settled = await Promise.allSettled(
    calls.map(async (call, position) => {
      let result: { output: string; isError: boolean; attachment?: Record<string, unknown> };
      if (position >= MAX_PARALLEL_TOOL_CALLS) {
        result = { output: `Not called: at most ${MAX_PARALLEL_TOOL_CALLS} tools are called in one step. Call it in the next step if it is still needed.`, isError: true };
      } else {
        // The tool's name is the model's words: only the run's own policies (never an inherited property) apply.
        const source = toolSource(call.name);
        const policy = (Object.hasOwn(input.toolPolicies, source) ? input.toolPolicies[source] : undefined) ?? (Object.hasOwn(input.toolPolicies, 'default') ? input.toolPolicies.default : undefined) ?? DEFAULT_POLICY;
        const tools = proxyActivities<Activities>(toolCallOptions(policy, call.name));
        try {
          result = await tools.agentToolCall({ userId: input.userId, allowedTools: input.agent.tools, callId: call.id, name: call.name, arguments: call.arguments, maxDurationMs: policy.maxDurationMs, stepNumber, streamId: input.streamId, ...(input.agent.fileIds?.length ? { fileIds: input.agent.fileIds } : {}) });
        } catch (error) {
          publisher.untrack(call.id);
          if (isCancellation(error)) throw error;
          result = { output: `The tool ${call.name} failed: ${describeFailure(error)}`, isError: true };
        }
      }
      publisher.output({ type: 'tool_output', stepId: call.stepId, index: call.contentIndex, callId: call.id, name: call.name, arguments: call.arguments, output: result.output });
      if (result.attachment) {
        // LibreChat's client shows an attachment under the tool call whose id is its toolCallId.
        publisher.attachment({ ...result.attachment, toolCallId: call.id, messageId: input.responseMessageId, conversationId: input.conversationId, name: call.name });
      }
      return { role: 'tool' as const, toolCallId: call.id, name: call.name, content: result.output, isError: result.isError };
    }),
  );
  await publisher.drained();
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<TranscriptEntry>).value);
}
