import type { ConversationParameters } from '../../shared/chat-run.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What a provider module streams back, already in the run vocabulary's terms (shared/run-events.ts). */
export type ProviderChunk =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'tool_call'; index: number; id: string; name: string; argumentsDelta: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number; reasoningTokens?: number; cacheReadTokens?: number; cacheWriteTokens?: number }
  | { type: 'finish'; reason: string };

export interface StreamRequest {
  endpoint: ResolvedEndpoint;
  model: string;
  messages: PromptMessage[];
  parameters: ConversationParameters;
  maxOutputTokens: number;
  signal: AbortSignal;
}

export interface CompleteRequest {
  endpoint: ResolvedEndpoint;
  model: string;
  messages: PromptMessage[];
  maxOutputTokens: number;
  temperature?: number;
  signal: AbortSignal;
}

/**
 * How a retry continues a reply that was partly streamed before the failure:
 * - `prefill`: the partial reply is sent as the last (assistant) message and the model writes what comes
 *   after it (Anthropic's prefill does exactly this).
 * - `instruction`: chat-completions models do not treat a trailing assistant message as a prefix (they
 *   start a new answer), so the partial reply is followed by a user instruction to continue from where
 *   it stopped. The model may rephrase a few words at the seam; what clients were shown is still exactly
 *   what is saved, because the continuation is appended, never substituted.
 */
export type ContinuationStrategy = 'prefill' | 'instruction';

/** One model SDK behind one interface: a second SDK is one new file plus its line in providers/index.ts. */
export interface ModelProvider {
  readonly continuation: ContinuationStrategy;
  /** Streams a reply. Errors come out already classified (see classifyError). */
  stream(request: StreamRequest): AsyncIterable<ProviderChunk>;
  /** A short non-streaming answer (titles). */
  complete(request: CompleteRequest): Promise<string>;
  /**
   * Transient failures (408/409/429/5xx, overloaded, dropped connections) become plain errors that
   * Temporal retries; everything else (400, 401/403, context too long, refusals) a non-retryable
   * ApplicationFailure whose message carries the provider's own words for the user.
   */
  classifyError(error: unknown): Error;
}

export const CONTINUE_INSTRUCTION =
  'Your previous answer was cut off. Continue it from exactly where it stopped: do not repeat anything, do not add a preamble.';
