import { Context } from '@temporalio/activity';
import { AGENT_RUN_MAX_DURATION_MS, type AgentRunInput } from '../../shared/agent-run.ts';
import { runKeyLifetimeSeconds } from '../../shared/chat-run.ts';
import type { ToolOutputEvent } from '../../shared/run-events.ts';
import { CLOSED_FENCE } from '../../shared/run-stream.ts';
import { openRunWriter, type AttemptProgress } from '../chat/run-writer.ts';
import type { AgentActivityDependencies } from '../dependencies.ts';

/**
 * Shows a finished tool call's output to the client (`tool_output`, which the client renders as the
 * completed call). The workflow runs these one after another and never beside a model step, so the run's
 * stream has one writer at a time; a repeat (retried activity) finds the output written and adds nothing.
 */
export function createAgentPublishToolOutput(deps: AgentActivityDependencies) {
  return async function agentPublishToolOutput(input: AgentRunInput, event: ToolOutputEvent): Promise<void> {
    const context = Context.current();
    // A run already closed (it cannot be, the workflow closes after its publishes; a guard all the same).
    if ((await deps.redis.get(deps.keys.streamWriterFence(input.streamId))) === CLOSED_FENCE) return;
    const execution = context.info.workflowExecution ?? { workflowId: input.streamId, runId: input.streamId };
    const writer = await openRunWriter({
      redis: deps.redis,
      keys: deps.keys,
      runs: deps.runs,
      input,
      owner: `${execution.runId}:output:${event.callId}:${context.info.attempt}`,
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
