import { ApplicationFailure, Context } from '@temporalio/activity';
import { AGENT_RUN_MAX_DURATION_MS, type StreamRef } from '../../shared/agent-run.ts';
import { runKeyLifetimeSeconds } from '../../shared/chat-run.ts';
import type { AttachmentEvent, ToolOutputEvent, ToolProgressEvent } from '../../shared/run-events.ts';
import { openRunWriter, StreamLostError } from '../chat/run-writer.ts';
import type { AgentActivityDependencies } from '../dependencies.ts';

/**
 * Shows the client what the workflow learned: a finished tool call's output (`tool_output`, rendered as
 * the completed call) or a running one's progress. The workflow runs these one after another and never
 * beside a model step, so the run's stream has one writer at a time; a repeated output (retried activity)
 * finds itself written and adds nothing.
 */
export function createAgentPublishEvent(deps: AgentActivityDependencies) {
  return async function agentPublishEvent(ref: StreamRef, event: ToolOutputEvent | ToolProgressEvent | AttachmentEvent): Promise<void> {
    const context = Context.current();
    const execution = context.info.workflowExecution ?? { workflowId: ref.streamId, runId: ref.streamId };
    let writer;
    try {
      writer = await openRunWriter({
        redis: deps.redis,
        keys: deps.keys,
        runs: deps.runs,
        // No `created`: a publish never rebuilds a lost stream from its first event alone (that would write a
        // stream without the run's earlier steps); the next model step rebuilds what its heartbeat holds.
        input: { streamId: ref.streamId, userId: ref.userId, conversationId: ref.conversationId, responseMessageId: ref.responseMessageId, runCreatedAt: ref.runCreatedAt },
        owner: `${execution.runId}:${event.type}:${event.type === 'attachment' ? String(event.attachment.toolCallId) : event.callId}:${context.info.attempt}`,
        workflowId: execution.workflowId,
        lifetimeSeconds: runKeyLifetimeSeconds(deps.streamTtlSeconds, AGENT_RUN_MAX_DURATION_MS),
        redisOutageToleranceMs: deps.redisOutageToleranceMs,
        log: context.log,
      });
    } catch (error) {
      // Closed: the run ended meanwhile, nothing more is shown. Lost: Redis lost the stream; not retried.
      if ((error instanceof ApplicationFailure && error.type === 'RunClosed') || error instanceof StreamLostError) {
        context.log.warn('tool event not shown', { streamId: ref.streamId, event: event.type, reason: (error as Error).message });
        return;
      }
      throw error;
    }
    if (event.type === 'tool_output' && writer.events.some((item) => item.event.type === 'tool_output' && item.event.callId === event.callId)) return;
    if (event.type === 'attachment' && writer.events.some((item) => item.event.type === 'attachment' && item.event.attachment.toolCallId === event.attachment.toolCallId)) return;
    await writer.append(event);
  };
}
