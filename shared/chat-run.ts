/** What the API hands the chat workflow, and the events both sides agree on. */
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
  endpointType: 'openAI' | 'custom';
  model: string;
  /** Display name of the replying model (the message's `sender`). */
  sender: string;
  parameters: ConversationParameters;
  /** The new user message; absent when regenerating or continuing an existing reply. */
  userMessage?: { messageId: string; parentMessageId: string; text: string };
  responseMessageId: string;
  /** The user message the reply answers. */
  responseParentMessageId: string;
  /** Continuing an existing reply: its text so far (the stream then carries only the new text). */
  continuedText?: string;
  /** Whether to ask the model for a title afterwards (new conversations on endpoints with titleConvo). */
  generateTitle: boolean;
}

/** The conversation fields a run sets: where and how it was answered. */
export function conversationSettings(input: ChatRunInput) {
  return { endpoint: input.endpoint, endpointType: input.endpointType, model: input.model, ...input.parameters };
}

export type RunStatus = 'running' | 'completed' | 'aborted' | 'error';

export interface ReplyOutcome {
  status: Exclude<RunStatus, 'running'>;
  finishReason?: string;
  errorMessage?: string;
}

export function runStepId(responseMessageId: string): string {
  return `step_${responseMessageId}`;
}

/**
 * `chat-<responseMessageId>`, so an operator finds a reply's run in the Temporal UI. Continuing a reply
 * is a run of its own on the same message (the first may still be generating its title), so it gets a
 * suffix from its stream id.
 */
export function chatWorkflowId(responseMessageId: string, continuationOf?: string): string {
  return continuationOf ? `chat-${responseMessageId}-continue-${continuationOf.slice(0, 8)}` : `chat-${responseMessageId}`;
}
