import type { ProviderChunk } from '../providers/provider.ts';
import type { createCoalescingWriter } from './coalescing-writer.ts';
import type { RunWriter } from './run-writer.ts';

type ToolCallChunk = Extract<ProviderChunk, { type: 'tool_call' }>;

/**
 * Relays a provider's stream into a run's stream (a chat reply, an agent's model step): text and reasoning
 * through the coalescing writer, usage as its own event, the finish reason kept. Tool calls go to
 * `onToolCall` after the deltas before them are written (a chat reply offers no tools, so has none).
 *
 * Whatever was already read from the provider is still written when the stream fails: it is part of what
 * this attempt produced, and the next attempt continues after it (worker shutdown, stall, dropped stream).
 * The SDK ends the iteration quietly when its signal aborts: that is a cancellation, not a reply.
 */
export async function relayProviderStream(
  chunks: AsyncIterable<ProviderChunk>,
  options: {
    deltas: ReturnType<typeof createCoalescingWriter>;
    writer: Pick<RunWriter, 'append'>;
    signal: AbortSignal;
    onText?: (text: string) => void;
    onToolCall?: (chunk: ToolCallChunk) => Promise<void>;
  },
): Promise<{ finishReason: string }> {
  const { deltas, writer, signal } = options;
  let finishReason = 'stop';
  try {
    for await (const chunk of chunks) {
      if (chunk.type === 'text' || chunk.type === 'reasoning') {
        if (chunk.type === 'text') options.onText?.(chunk.text);
        deltas.push(chunk.type, chunk.text);
      } else if (chunk.type === 'tool_call') {
        if (!options.onToolCall) continue;
        await deltas.flush();
        await options.onToolCall(chunk);
      } else if (chunk.type === 'finish') finishReason = chunk.reason;
      else if (chunk.type === 'usage') {
        await deltas.flush();
        const { type: _type, ...usage } = chunk;
        await writer.append({ type: 'usage', ...usage });
      }
    }
    await deltas.flush();
  } catch (error) {
    await deltas.flush().catch(() => undefined);
    if (signal.aborted) throw signal.reason;
    throw error;
  }
  if (signal.aborted) throw signal.reason;
  return { finishReason };
}
