/**
 * The vocabulary of a run: what workers write to a run's stream, what the SSE edge encodes for each client
 * protocol (api/sse/), and what a saved message's `content` parts are folded from (shared/run-content.ts).
 * Runs never write a client's wire format; they write these events.
 *
 * Every event of a run has a sequence number (1, 2, 3, ...) given by its writer, and the stream entry id is
 * `0-<seq>`. Ids are the run's own, not Redis's clock, so a stream lost with Redis can be rebuilt with the
 * same ids, and a client's Last-Event-ID stays a valid position in the rebuilt stream.
 */

/** The accepted request, written by the API before the run starts (seq 1). */
export interface CreatedEvent {
  type: 'created';
  streamId: string;
  conversationId: string;
  responseMessageId: string;
  /** The user message (or, for regenerate/continue, the message the reply answers) as the client shows it. */
  message: Record<string, unknown>;
}

/** A step of the reply: the message itself, or a round of tool calls (agents). `index` is its content position. */
export interface StepEvent {
  type: 'step';
  stepId: string;
  runId: string;
  index: number;
  kind: 'message' | 'tool_calls';
  toolCalls?: Array<{ id: string; name: string }>;
}

export interface TextEvent {
  type: 'text';
  stepId: string;
  text: string;
}

export interface ReasoningEvent {
  type: 'reasoning';
  stepId: string;
  text: string;
}

/** A tool call's arguments as they stream (each event carries the next piece). */
export interface ToolCallEvent {
  type: 'tool_call';
  stepId: string;
  index: number;
  callId: string;
  name: string;
  argumentsDelta: string;
}

export interface ToolOutputEvent {
  type: 'tool_output';
  stepId: string;
  index: number;
  callId: string;
  name: string;
  arguments: string;
  output: string;
}

/** A running tool's progress (an MCP tool's progress notifications), latest first-hand value; never saved. */
export interface ToolProgressEvent {
  type: 'tool_progress';
  stepId: string;
  index: number;
  callId: string;
  name: string;
  progress: number;
  total?: number;
  message?: string;
}

/**
 * Something a tool produced for the client to show beside its call (LibreChat's `event: attachment`: file_search
 * sources, ...); saved in the reply's `attachments`.
 */
export interface AttachmentEvent {
  type: 'attachment';
  attachment: Record<string, unknown>;
}

export interface UsageEvent {
  type: 'usage';
  inputTokens: number;
  outputTokens: number;
  reasoningTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** The run ended and its messages are saved (last event). */
export interface FinalEvent {
  type: 'final';
  aborted?: boolean;
  conversation: Record<string, unknown>;
  title: string;
  requestMessage?: Record<string, unknown>;
  responseMessage: Record<string, unknown>;
}

/** The run failed (last event); `responseMessage` is the saved error reply, when it could be saved. */
export interface ErrorEvent {
  type: 'error';
  message: string;
  conversationId: string;
  responseMessage?: Record<string, unknown>;
}

export type RunEvent = CreatedEvent | StepEvent | TextEvent | ReasoningEvent | ToolCallEvent | ToolOutputEvent | ToolProgressEvent | AttachmentEvent | UsageEvent | FinalEvent | ErrorEvent;
export type RunEventType = RunEvent['type'];

/** An event with its place in the run. */
export interface SequencedEvent {
  seq: number;
  event: RunEvent;
}

export function isEndEvent(event: RunEvent): event is FinalEvent | ErrorEvent {
  return event.type === 'final' || event.type === 'error';
}

export function messageStepId(responseMessageId: string): string {
  return `step_${responseMessageId}`;
}
