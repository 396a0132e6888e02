import type { RunEvent } from './run-events.ts';

/** A saved message's `content` part, as LibreChat's client renders it. */
export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'think'; think: string }
  | { type: 'tool_call'; tool_call: { id: string; name: string; args: string; output?: string } };

export interface FoldedReply {
  /** The reply's text: every text delta, in order (what `text` on the saved message holds). */
  text: string;
  content: ContentPart[];
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
  for (const event of events) {
    const last = content.at(-1);
    if (event.type === 'text') {
      text += event.text;
      if (last?.type === 'text') last.text += event.text;
      else content.push({ type: 'text', text: event.text });
    } else if (event.type === 'reasoning') {
      if (last?.type === 'think') last.think += event.text;
      else content.push({ type: 'think', think: event.text });
    } else if (event.type === 'tool_call') {
      let part = toolCalls.get(event.callId);
      if (!part) {
        part = { type: 'tool_call', tool_call: { id: event.callId, name: event.name, args: '' } };
        toolCalls.set(event.callId, part);
        content.push(part);
      }
      part.tool_call.args += event.argumentsDelta;
    } else if (event.type === 'tool_output') {
      const part = toolCalls.get(event.callId);
      if (part) part.tool_call.output = event.output;
      else content.push({ type: 'tool_call', tool_call: { id: event.callId, name: event.name, args: event.arguments, output: event.output } });
    }
  }
  return { text, content };
}
