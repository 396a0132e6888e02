import type { RunEvent } from './run-events.ts';

/** A saved message's `content` part, as LibreChat's client renders it. */
export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'think'; think: string }
  | { type: 'tool_call'; tool_call: { id: string; name: string; args: string; output?: string; progress?: number; type?: 'tool_call' } };

export interface FoldedReply {
  /** The reply's text: every text delta, in order (what `text` on the saved message holds). */
  text: string;
  content: ContentPart[];
  /** What tools produced for the client to show (LibreChat's `attachments`), in order. */
  attachments: Array<Record<string, unknown>>;
}

/**
 * Folds a run's events into the reply the clients were shown: consecutive deltas of one kind join into
 * one part, a new kind (or a tool call) starts the next part, in the order clients received them.
 */
export function foldReply(events: Iterable<RunEvent>, options: { prefixText?: string } = {}): FoldedReply {
  const content: ContentPart[] = [];
  let text = options.prefixText ?? '';
  if (text) content.push({ type: 'text', text });
  const toolCalls = new Map<string, Extract<ContentPart, { type: 'tool_call' }>>();
  const attachments: Array<Record<string, unknown>> = [];
  for (const event of events) {
    if (event.type === 'attachment') {
      attachments.push(event.attachment);
      continue;
    }
    const last = content.at(-1);
    if (event.type === 'text') {
      text += event.text;
      if (last?.type === 'text') last.text += event.text;
      else content.push({ type: 'text', text: event.text });
    } else if (event.type === 'reasoning') {
      if (last?.type === 'think') last.think += event.text;
      else content.push({ type: 'think', think: event.text });
    } else if (event.type === 'step' && event.kind === 'tool_calls') {
      // A tool step makes its part at once (as the client does on on_run_step), so positions agree even for a call with no arguments.
      for (const call of event.toolCalls ?? []) {
        if (toolCalls.has(call.id)) continue;
        // `type` inside the call too: the client copies it from the step's tool_calls, so an unfinished call is saved as it was shown.
        const part: Extract<ContentPart, { type: 'tool_call' }> = { type: 'tool_call', tool_call: { id: call.id, name: call.name, args: '', type: 'tool_call' } };
        toolCalls.set(call.id, part);
        content.push(part);
      }
    } else if (event.type === 'tool_call') {
      let part = toolCalls.get(event.callId);
      if (!part) {
        part = { type: 'tool_call', tool_call: { id: event.callId, name: event.name, args: '', type: 'tool_call' } };
        toolCalls.set(event.callId, part);
        content.push(part);
      }
      part.tool_call.args += event.argumentsDelta;
    } else if (event.type === 'tool_output') {
      // As the client folds on_run_step_completed: the finished call replaces the part (full arguments, output, progress 1).
      const finished = { id: event.callId, name: event.name, args: event.arguments, output: event.output, progress: 1, type: 'tool_call' as const };
      const part = toolCalls.get(event.callId);
      if (part) part.tool_call = finished;
      else content.push({ type: 'tool_call', tool_call: finished });
    }
  }
  return { text, content, attachments };
}
