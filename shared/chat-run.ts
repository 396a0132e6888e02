import type { CreatedEvent } from './run-events.ts';

/** What the API hands the chat workflow, and what the workflow answers. */
export interface ConversationParameters {
  promptPrefix?: string;
  system?: string;
  temperature?: number;
  top_p?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  maxOutputTokens?: number;
  max_tokens?: number;
  maxContextTokens?: number;
}

export interface ChatRunInput {
  streamId: string;
  userId: string;
  conversationId: string;
  isNewConversation: boolean;
  endpoint: string;
  endpointType: 'openAI' | 'anthropic' | 'google' | 'bedrock' | 'custom';
  model: string;
  /** Display name of the replying model (the message's `sender`). */
  sender: string;
  parameters: ConversationParameters;
  /** The new user message; absent when regenerating or continuing an existing reply. */
  userMessage?: { messageId: string; parentMessageId: string; text: string; files?: Array<Record<string, unknown>> };
  responseMessageId: string;
  /** The user message the reply answers. */
  responseParentMessageId: string;
  /** Continuing an existing reply: its text so far (the stream then carries only the new text). */
  continuedText?: string;
  /** Whether to ask the model for a title afterwards (new conversations on endpoints with titleConvo). */
  generateTitle: boolean;
  /** The run's first event, as the API wrote it: a worker rebuilding a lost stream writes it again. */
  created: CreatedEvent;
  /** The conversation's title when the run started (the Temporal memo shows it). */
  title?: string;
  /** When the API started the run (ISO); a client's `generationCreatedAt` is this in epoch ms. */
  runCreatedAt?: string;
  /** Where the turn's background work (the title) runs; absent in runs started before queues were split. */
  backgroundTaskQueue?: string;
  /**
   * How the turn is saved when that differs from the endpoint that answers it: an agent's turn is saved
   * on LibreChat's `agents` endpoint with its `agent_id` (the reply's `model` is the agent id), so the
   * client reopens the conversation with the agent selected.
   */
  savedAs?: { endpoint: string; agent_id: string; replyModel: string };
}

/**
 * A run cannot last longer than this (the workflow's execution timeout): a run's Redis keys expire this
 * long plus the stream TTL after their first write, so nothing outlives its run by more than the TTL.
 */
export const RUN_MAX_DURATION_MS = 25 * 60_000;

export function runKeyLifetimeSeconds(streamTtlSeconds: number, runMaxDurationMs: number = RUN_MAX_DURATION_MS): number {
  return Math.ceil(runMaxDurationMs / 1000) + streamTtlSeconds;
}

/** The conversation fields a run sets: where and how it was answered. */
export function conversationSettings(input: ChatRunInput) {
  if (input.savedAs) return { endpoint: input.savedAs.endpoint, agent_id: input.savedAs.agent_id, model: input.model, ...input.parameters };
  return { endpoint: input.endpoint, endpointType: input.endpointType, model: input.model, ...input.parameters };
}

/** The reply message's `endpoint` and `model`. */
export function replyOrigin(input: ChatRunInput): { endpoint: string; model: string } {
  return input.savedAs ? { endpoint: input.savedAs.endpoint, model: input.savedAs.replyModel } : { endpoint: input.endpoint, model: input.model };
}

export type RunStatus = 'running' | 'completed' | 'aborted' | 'error';

export interface ReplyOutcome {
  status: Exclude<RunStatus, 'running'>;
  finishReason?: string;
  errorMessage?: string;
}

/**
 * `chat-<responseMessageId>`, so an operator finds a reply's run in the Temporal UI. Continuing a reply
 * is a run of its own on the same message (the first may still be generating its title), so it gets a
 * suffix from its stream id.
 */
export function chatWorkflowId(responseMessageId: string, continuationOf?: string): string {
  return continuationOf ? `chat-${responseMessageId}-continue-${continuationOf.slice(0, 8)}` : `chat-${responseMessageId}`;
}
