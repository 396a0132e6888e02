import { ApplicationFailure, Context } from '@temporalio/activity';
import { runKeyLifetimeSeconds, type ChatRunInput } from '../../shared/chat-run.ts';
import { findEndpoint } from '../../shared/endpoints-config.ts';
import { foldReply } from '../../shared/run-content.ts';
import { messageStepId, type StepEvent } from '../../shared/run-events.ts';
import type { ChatActivityDependencies } from '../dependencies.ts';
import { withIdleTimeout } from '../providers/idle-timeout.ts';
import { CONTINUE_INSTRUCTION, type PromptMessage } from '../providers/provider.ts';
import { buildPrompt, outputBudget } from './build-prompt.ts';
import { createCoalescingWriter } from './coalescing-writer.ts';
import { openRunWriter, type AttemptProgress } from './run-writer.ts';

/** Heartbeats come from a timer, not per token: the SDK throttles them anyway, and a per-token call costs CPU. */
const HEARTBEAT_INTERVAL_MS = 1000;

export interface StreamReplyResult {
  finishReason: string;
}

/**
 * Streams the model's reply into the run's stream as run events (shared/run-events.ts).
 *
 * A retry (worker killed or shut down, provider dropped the connection or stalled, 5xx) continues
 * instead of starting over: it reads back what clients were already sent and asks the model to go on
 * after it (with the provider's continuation strategy), so what clients receive, concatenated, is exactly
 * the saved reply. LibreChat's client has no "reset" event, so nothing shown is ever taken back.
 */
export function createStreamReply(deps: ChatActivityDependencies) {
  return async function streamReply(input: ChatRunInput): Promise<StreamReplyResult> {
    const context = Context.current();
    const configured = findEndpoint(deps.endpoints, input.endpoint);
    if (!configured) throw ApplicationFailure.nonRetryable(`Endpoint ${input.endpoint} is not configured on this worker`, 'EndpointUnavailable');
    // A user's own key is read here, at call time, never carried in the run's input (Temporal history).
    const endpoint = await deps.resolveEndpointCredentials(configured, input.userId);
    const provider = deps.providers.providerFor(endpoint);
    const previous = context.info.heartbeatDetails as AttemptProgress | undefined;

    const execution = context.info.workflowExecution ?? { workflowId: input.streamId, runId: input.streamId };
    const writer = await openRunWriter({
      redis: deps.redis,
      keys: deps.keys,
      runs: deps.runs,
      input,
      owner: `${execution.runId}:${context.info.attempt}`,
      workflowId: execution.workflowId,
      lifetimeSeconds: runKeyLifetimeSeconds(deps.streamTtlSeconds),
      redisOutageToleranceMs: deps.redisOutageToleranceMs,
      previous,
      log: context.log,
    });
    const heartbeat = setInterval(() => context.heartbeat(writer.progress()), HEARTBEAT_INTERVAL_MS);
    try {
      const stepId = messageStepId(input.responseMessageId);
      const alreadyStreamed = foldReply(writer.events.map((item) => item.event)).text;
      if (context.info.attempt > 1) context.log.info('continuing the reply after a failed attempt', { streamId: input.streamId, alreadyStreamedChars: alreadyStreamed.length });
      const step: StepEvent = { type: 'step', stepId, runId: input.responseMessageId, index: 0, kind: 'message' };
      // Nothing can depend on the prompt to announce the step: write it while the prompt is built (time to first token).
      const stepWritten = writer.events.some((item) => item.event.type === 'step') ? Promise.resolve() : writer.append(step);
      stepWritten.catch(() => undefined);

      const messages: PromptMessage[] = await buildPrompt(input, endpoint, deps, context.cancellationSignal);
      const prefix = (input.continuedText ?? '') + alreadyStreamed;
      if (prefix) {
        messages.push({ role: 'assistant', content: prefix });
        if (provider.continuation === 'instruction') messages.push({ role: 'user', content: CONTINUE_INSTRUCTION });
      }
      await stepWritten;

      // Deltas are spaced further apart as the stream nears its cap (it is never trimmed: a reply keeps its beginning).
      const spacing = () => (writer.lastSeq > deps.streamMaxLength * 0.8 ? Math.max(2000, deps.streamFlushIntervalMs) : deps.streamFlushIntervalMs);
      const deltas = createCoalescingWriter(async (segments) => {
        for (const segment of segments) await writer.append({ type: segment.kind, stepId, text: segment.text });
      }, { minIntervalMs: spacing });

      let finishReason = 'stop';
      const chunks = withIdleTimeout(
        (signal) => provider.stream({ endpoint, model: input.model, messages, parameters: input.parameters, maxOutputTokens: outputBudget(input), signal }),
        { idleMs: endpoint.streamIdleTimeoutMs, outer: context.cancellationSignal },
      );
      try {
        for await (const chunk of chunks) {
          if (chunk.type === 'text' || chunk.type === 'reasoning') deltas.push(chunk.type, chunk.text);
          else if (chunk.type === 'finish') finishReason = chunk.reason;
          else if (chunk.type === 'usage') {
            await deltas.flush();
            const { type: _type, ...usage } = chunk;
            await writer.append({ type: 'usage', ...usage });
          }
          // Tool calls belong to agent runs (a later issue); a chat reply offers no tools, so none arrive.
        }
        await deltas.flush();
      } catch (error) {
        // Whatever was already read from the provider is still written: it is part of what this attempt
        // produced, and the next attempt continues after it (worker shutdown, stall, dropped stream).
        await deltas.flush().catch(() => undefined);
        if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
        throw error;
      }
      // The SDK ends the iteration quietly when its signal aborts; that is a cancellation, not a reply.
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      return { finishReason };
    } finally {
      clearInterval(heartbeat);
    }
  };
}
