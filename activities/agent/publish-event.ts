import { Context } from '@temporalio/activity';
import { AGENT_RUN_MAX_DURATION_MS, type AgentRunInput } from '../../shared/agent-run.ts';
import { runKeyLifetimeSeconds } from '../../shared/chat-run.ts';
import type { ToolOutputEvent, ToolProgressEvent } from '../../shared/run-events.ts';
import { CLOSED_FENCE } from '../../shared/run-stream.ts';
import { openRunWriter, type AttemptProgress } from '../chat/run-writer.ts';
import type { AgentActivityDependencies } from '../dependencies.ts';

/**
 * Shows the client what the workflow learned: a finished tool call's output (`tool_output`, rendered as
 * the completed call) or a running one's progress. The workflow runs these one after another and never
 * beside a model step, so the run's stream has one writer at a time; a repeated output (retried activity)
 * finds itself written and adds nothing.
 */
export function createAgentPublishEvent(deps: AgentActivityDependencies) {
  return async function agentPublishEvent(input: AgentRunInput, event: ToolOutputEvent | ToolProgressEvent): Promise<void> {
    const context = Context.current();
    // A run already closed (it cannot be, the workflow closes after its publishes; a guard all the same).
    if ((await deps.redis.get(deps.keys.streamWriterFence(input.streamId))) === CLOSED_FENCE) return;
    const execution = context.info.workflowExecution ?? { workflowId: input.streamId, runId: input.streamId };
    const writer = await openRunWriter({
      redis: deps.redis,
      keys: deps.keys,
      runs: deps.runs,
      input,
      owner: `${execution.runId}:${event.type}:${event.callId}:${context.info.attempt}`,
      workflowId: execution.workflowId,
      lifetimeSeconds: runKeyLifetimeSeconds(deps.streamTtlSeconds, AGENT_RUN_MAX_DURATION_MS),
      redisOutageToleranceMs: deps.redisOutageToleranceMs,
      previous: context.info.heartbeatDetails as AttemptProgress | undefined,
      log: context.log,
    });
    if (writer.events.some((item) => item.event.type === 'tool_output' && item.event.callId === event.callId)) return;
    await writer.append(event);
  };
}
