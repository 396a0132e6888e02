import type { RunEvent, SequencedEvent } from '../../shared/run-events.ts';

/** One SSE event as LibreChat's client reads it: `event:` name and the JSON `data:` line. */
export interface EncodedEvent {
  event: 'message' | 'error' | 'attachment';
  data: unknown;
}

/**
 * The run vocabulary in LibreChat's wire format (../shared/PROTOCOL.md): `created`, `on_run_step`,
 * `on_message_delta`, `on_reasoning_delta`, tool steps, `final`, and `event: error`. Usage is not sent.
 */
export function encodeLibreChatEvent(event: RunEvent): EncodedEvent | undefined {
  switch (event.type) {
    case 'created':
      return { event: 'message', data: { message: event.message, created: true, streamId: event.streamId, conversationId: event.conversationId, responseMessageId: event.responseMessageId } };
    case 'step':
      return {
        event: 'message',
        data: {
          event: 'on_run_step',
          data:
            event.kind === 'message'
              ? { id: event.stepId, runId: event.runId, index: event.index, type: 'message_creation', stepDetails: { type: 'message_creation', message_creation: { message_id: event.runId } } }
              : {
                  id: event.stepId,
                  runId: event.runId,
                  index: event.index,
                  type: 'tool_calls',
                  stepDetails: { type: 'tool_calls', tool_calls: (event.toolCalls ?? []).map((call) => ({ id: call.id, name: call.name, args: '', type: 'tool_call' })) },
                },
        },
      };
    case 'text':
      return { event: 'message', data: { event: 'on_message_delta', data: { id: event.stepId, delta: { content: [{ type: 'text', text: event.text }] } } } };
    case 'reasoning':
      return { event: 'message', data: { event: 'on_reasoning_delta', data: { id: event.stepId, delta: { content: [{ type: 'think', think: event.text }] } } } };
    case 'tool_call':
      return {
        event: 'message',
        data: { event: 'on_run_step_delta', data: { id: event.stepId, delta: { type: 'tool_calls', tool_calls: [{ index: event.index, id: event.callId, name: event.name, args: event.argumentsDelta, type: 'tool_call_chunk' }] } } },
      };
    case 'tool_output':
      return {
        event: 'message',
        data: {
          event: 'on_run_step_completed',
          data: { result: { id: event.stepId, index: event.index, type: 'tool_call', tool_call: { id: event.callId, name: event.name, args: event.arguments, output: event.output, progress: 1, type: 'tool_call' } } },
        },
      };
    case 'tool_progress': {
      // The client keeps a call's `progress` below 1 while it runs; the fraction (0-1, from the tool's
      // progress/total when it gave a total) and the tool's message ride on a delta with no argument text.
      const fraction = event.total && event.total > 0 ? Math.min(0.99, event.progress / event.total) : undefined;
      return {
        event: 'message',
        data: {
          event: 'on_run_step_delta',
          data: { id: event.stepId, delta: { type: 'tool_calls', tool_calls: [{ index: event.index, id: event.callId, name: event.name, args: '', type: 'tool_call_chunk', ...(fraction !== undefined ? { progress: fraction } : {}), progressMessage: event.message, progressValue: event.progress, progressTotal: event.total }] } },
        },
      };
    }
    case 'attachment':
      return { event: 'attachment', data: event.attachment };
    case 'usage':
      return undefined;
    case 'final': {
      const { type: _type, aborted, ...rest } = event;
      return { event: 'message', data: { final: true, ...(aborted ? { aborted: true } : {}), ...rest } };
    }
    case 'error':
      return { event: 'error', data: { ...(event.responseMessage ?? {}), conversationId: event.conversationId, text: event.message, error: true, final: true } };
  }
}

/** `id: / event: / data:` framing; the id is the run's sequence as a stream id, so it is a resume position. */
export function formatSse(item: SequencedEvent, encoded: EncodedEvent): string {
  return `id: 0-${item.seq}\nevent: ${encoded.event}\ndata: ${JSON.stringify(encoded.data)}\n\n`;
}

/**
 * The same events for LibreChat's newest client (generation protocol 2): terminal frames carry
 * `generationProtocolVersion`, and an error names itself in `error` (the client shows `text`, `message`
 * or `error`).
 */
export function encodeProtocol2Event(event: RunEvent): EncodedEvent | undefined {
  const encoded = encodeLibreChatEvent(event);
  if (!encoded) return undefined;
  if (event.type === 'error') return { event: 'error', data: { ...(encoded.data as object), error: event.message, message: event.message, generationProtocolVersion: 2 } };
  if (event.type === 'final') return { event: 'message', data: { ...(encoded.data as object), generationProtocolVersion: 2 } };
  return encoded;
}
