import { ApplicationFailure, Context } from '@temporalio/activity';
import { runStepId, type ChatRunInput } from '../../shared/chat-run.ts';
import { appendFenced, readAllEntries, streamedText } from '../../shared/chat-stream.ts';
import { findEndpoint } from '../../shared/endpoints-config.ts';
import { buildPrompt, outputBudget } from './build-prompt.ts';
import { createCoalescingWriter } from './coalescing-writer.ts';
import type { ActivityDependencies } from '../dependencies.ts';
import { classifyProviderError } from '../providers/openai-errors.ts';

/** Heartbeats come from a timer, not per token: the SDK throttles them anyway, and a per-token call costs CPU. */
const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * Streams the model's reply into the run's Redis Stream, one `on_message_delta` per provider chunk.
 *
 * A retry (worker killed, provider dropped the connection, 5xx) continues instead of starting over:
 * it reads back the text already streamed to clients and asks the model to continue after it, so
 * what clients receive, concatenated, is exactly the saved reply. The web client has no "reset" event.
 */
export function createStreamReply(deps: ActivityDependencies) {
  return async function streamReply(input: ChatRunInput): Promise<{ finishReason: string }> {
    const context = Context.current();
    const owner = `attempt-${context.info.attempt}`;
    const streamKey = deps.keys.chatStream(input.streamId);
    const fenceKey = deps.keys.streamWriterFence(input.streamId);
    const endpoint = findEndpoint(deps.endpoints, input.endpoint);
    if (!endpoint) throw ApplicationFailure.nonRetryable(`Endpoint ${input.endpoint} is not configured on this worker`, 'EndpointUnavailable');

    const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_INTERVAL_MS);
    try {
      const append = async (data: unknown) => {
        const id = await appendFenced(deps.redis, streamKey, fenceKey, owner, deps.streamMaxLength, 'message', data);
        if (!id) throw ApplicationFailure.nonRetryable('A newer attempt owns this reply stream', 'Superseded');
      };
      const stepId = runStepId(input.responseMessageId);
      const runStep = {
        event: 'on_run_step',
        data: { id: stepId, runId: input.responseMessageId, index: 0, type: 'message_creation', stepDetails: { type: 'message_creation', message_creation: { message_id: input.responseMessageId } } },
      };
      // Claim the stream: from here on, an earlier attempt still running somewhere is fenced out. The
      // commands below are pipelined on one connection, so the claim always lands before the appends.
      const claimed = deps.redis.set(fenceKey, owner, 'EX', deps.streamTtlSeconds * 2);
      let alreadyStreamed = '';
      let stepWritten: Promise<void>;
      if (context.info.attempt === 1) {
        // Nothing can have been streamed before the first attempt: announce the step at once and build
        // the prompt meanwhile (time to first token).
        stepWritten = append(runStep);
        await claimed;
      } else {
        await claimed;
        const entries = await readAllEntries(deps.redis, streamKey);
        alreadyStreamed = streamedText(entries);
        context.log.info('resuming reply after a failed attempt', { streamId: input.streamId, alreadyStreamedChars: alreadyStreamed.length });
        stepWritten = entries.some((entry) => entry.data.includes('"on_run_step"')) ? Promise.resolve() : append(runStep);
      }

      const messages = await buildPrompt(input, endpoint, deps, context.cancellationSignal);
      const prefix = (input.continuedText ?? '') + alreadyStreamed;
      if (prefix) messages.push({ role: 'assistant', content: prefix });
      await stepWritten;

      let finishReason = 'stop';
      try {
        const client = deps.openAIClientFor(endpoint);
        const stream = await client.chat.completions.create(
          {
            model: input.model,
            messages,
            stream: true,
            stream_options: { include_usage: true },
            max_tokens: outputBudget(input),
            ...(input.parameters.temperature != null ? { temperature: input.parameters.temperature } : {}),
            ...(input.parameters.top_p != null ? { top_p: input.parameters.top_p } : {}),
            ...(input.parameters.frequency_penalty != null ? { frequency_penalty: input.parameters.frequency_penalty } : {}),
            ...(input.parameters.presence_penalty != null ? { presence_penalty: input.parameters.presence_penalty } : {}),
          },
          { signal: context.cancellationSignal },
        );
        const deltas = createCoalescingWriter((text) => append({ event: 'on_message_delta', data: { id: stepId, delta: { content: [{ type: 'text', text }] } } }), {
          minIntervalMs: deps.streamFlushIntervalMs,
        });
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          const text = choice?.delta?.content;
          if (text) deltas.push(text);
          if (choice?.finish_reason) finishReason = choice.finish_reason;
        }
        await deltas.flush();
        // The SDK ends the iteration quietly when its signal aborts; that is a cancellation, not a reply.
        if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      } catch (error) {
        if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
        if (error instanceof ApplicationFailure) throw error;
        throw classifyProviderError(error);
      }
      return { finishReason };
    } finally {
      clearInterval(heartbeat);
    }
  };
}
