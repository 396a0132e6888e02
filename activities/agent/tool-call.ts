import { Context } from '@temporalio/activity';
import { startActivityHeartbeat } from '../activity-heartbeat.ts';
import { MAX_TOOL_OUTPUT_CHARS } from '../../shared/agent-run.ts';
import type { AgentActivityDependencies } from '../dependencies.ts';
import { ToolDeadlineError, type ToolProgress, type ToolResult } from '../tools/tool-types.ts';
import { toolProgressSignal } from '../../workflows/agent-run-signals.ts';
import { createFileSearchTool, FILE_SEARCH_TOOL } from '../tools/file-search-tool.ts';

/**
 * Well inside the tool call's 20 s heartbeat timeout. Cancellation reaches an activity through a heartbeat's
 * response, but "stop" does not wait for it: it comes through Redis (shared/run-stops.ts) and the tool is
 * cancelled at once.
 */
const HEARTBEAT_INTERVAL_MS = 5000;

export interface ToolCallRequest {
  userId: string;
  /** The agent's tool keys: a call to anything else is answered with an error, never run. */
  allowedTools: string[];
  callId: string;
  name: string;
  /** The arguments as the model wrote them (JSON text). */
  arguments: string;
  maxDurationMs: number;
  stepNumber: number;
  /** The run's stream: a stop published for it cancels the call at once (absent in histories from before it was sent). */
  streamId?: string;
  /** The run's files for `file_search` (checked by the API). */
  fileIds?: string[];
}

/** A call's progress reaches the client through its workflow (the one writer of the run's stream): one signal per this long at most. */
const PROGRESS_SIGNAL_INTERVAL_MS = 2000;

/**
 * Signals the workflow the call's latest progress, at most once per interval (the last value of a burst
 * is sent when the interval ends). A signal that fails is only logged: progress is a nicety.
 */
function throttledProgressSignal(context: Context, callId: string) {
  const workflowId = context.info.workflowExecution?.workflowId;
  let pending: ToolProgress | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastSent = 0;
  let stopped = false;
  const send = () => {
    timer = undefined;
    if (!pending || stopped || !workflowId) return;
    const update = { callId, progress: pending.progress, total: pending.total, message: pending.message };
    pending = undefined;
    lastSent = Date.now();
    context.client.workflow.getHandle(workflowId).signal(toolProgressSignal, update).catch((error: unknown) => context.log.warn('could not signal tool progress', { callId, error: (error as Error).message }));
  };
  return {
    push(progress: ToolProgress) {
      pending = progress;
      if (timer) return;
      timer = setTimeout(send, Math.max(0, lastSent + PROGRESS_SIGNAL_INTERVAL_MS - Date.now()));
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function bounded(output: string): string {
  if (output.length <= MAX_TOOL_OUTPUT_CHARS) return output;
  return `${output.slice(0, MAX_TOOL_OUTPUT_CHARS)}\n[output cut at ${MAX_TOOL_OUTPUT_CHARS} of ${output.length} characters]`;
}

/**
 * One tool call (its own activity: own timeout, retries and heartbeat, named in the Temporal UI by its
 * summary). Heartbeats on a timer (a tool may run for an hour) with its latest progress as the details.
 * The call's idempotency key is the same in every attempt, so a tool with side effects can tell a retry
 * from a new call. Answers the model can act on (bad arguments, unknown tool, the tool's own error) are
 * results, not failures; a tool that cannot be reached throws, and Temporal retries it.
 */
export function createAgentToolCall(deps: Pick<AgentActivityDependencies, 'toolbox' | 'fileSearch' | 'runStops'>) {
  return async function agentToolCall(request: ToolCallRequest): Promise<ToolResult> {
    const context = Context.current();
    const execution = context.info.workflowExecution;
    let latest: ToolProgress | undefined;
    const heartbeat = startActivityHeartbeat({ details: () => ({ progress: latest }), intervalMs: HEARTBEAT_INTERVAL_MS, streamId: request.streamId, stops: deps.runStops });
    const progressSignals = throttledProgressSignal(context, request.callId);
    try {
      let args: Record<string, unknown>;
      try {
        const parsed: unknown = request.arguments.trim() ? JSON.parse(request.arguments) : {};
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { output: `The arguments for ${request.name} must be a JSON object.`, isError: true };
        args = parsed as Record<string, unknown>;
      } catch {
        return { output: `The arguments for ${request.name} are not valid JSON: ${request.arguments.slice(0, 200)}`, isError: true };
      }
      const tool =
        request.name === FILE_SEARCH_TOOL
          ? request.allowedTools.includes(FILE_SEARCH_TOOL) && deps.fileSearch && request.fileIds?.length
            ? createFileSearchTool(deps.fileSearch, request.fileIds)
            : undefined
          : await deps.toolbox.find(request.userId, request.allowedTools, request.name);
      if (!tool) return { output: `There is no tool named ${request.name} available to this agent.`, isError: true };
      context.log.info('calling tool', { tool: request.name, callId: request.callId, attempt: context.info.attempt });
      const result = await tool.call(args, {
        userId: request.userId,
        // Stable across attempts and across continue-as-new (the workflow id does not change).
        idempotencyKey: `${execution?.workflowId ?? 'run'}:${request.callId}`,
        signal: heartbeat.signal,
        timeoutMs: request.maxDurationMs,
        onProgress: (progress) => {
          latest = progress;
          context.heartbeat({ progress });
          progressSignals.push(progress);
        },
      });
      if (heartbeat.stopped) await heartbeat.afterStop();
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      return { output: bounded(result.output), isError: result.isError, ...(result.attachment ? { attachment: result.attachment } : {}) };
    } catch (error) {
      if (heartbeat.stopped) await heartbeat.afterStop();
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? error;
      if (error instanceof ToolDeadlineError) return { output: `${error.message}; it was stopped.`, isError: true };
      throw error;
    } finally {
      heartbeat.stop();
      progressSignals.stop();
    }
  };
}
