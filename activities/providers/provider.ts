import type { ConversationParameters } from '../../shared/chat-run.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';

/** A tool the model may call: a name, what it does, and its arguments as a JSON Schema object. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A call the model made: `arguments` is the JSON text exactly as the model wrote it. */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
  /**
   * Opaque provider state that must travel back with the call: Gemini's `thoughtSignature` (Gemini 3 refuses
   * a function call sent back without it). Kept as the provider gave it; other providers leave it unset.
   */
  signature?: string;
}

/**
 * One message of a prompt, in the providers' common terms. An assistant turn may carry the tool calls it
 * made; each call's result comes back as a `tool` message with the call's id (agents, issue 10). Each
 * provider maps these to its own wire shape (OpenAI tool_calls/tool messages, Anthropic tool_use/
 * tool_result blocks, Gemini functionCall/functionResponse parts, Bedrock toolUse/toolResult blocks).
 */
export type PromptMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string; images?: PromptImage[] }
  | { role: 'assistant'; content: string; toolCalls?: ToolCallRequest[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean };

/**
 * An image the user attached, sent as vision input (issue 11). Loaded from storage by the activity that calls
 * the provider, never carried through workflow history. `data` is the image's bytes in base64.
 */
export interface PromptImage {
  mimeType: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';
  data: string;
  /** Pixel size when known (upload's width/height): lets prompt fitting estimate the image's tokens. */
  width?: number;
  height?: number;
}

/** What a provider reported a completion cost (titles are charged like replies). */
export interface CompletionUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface CompletionResult {
  text: string;
  /** Absent when the provider reported none (the caller counts tokens itself then). */
  usage?: CompletionUsage;
}

/** What a provider module streams back, already in the run vocabulary's terms (shared/run-events.ts). */
export type ProviderChunk =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'tool_call'; index: number; id: string; name: string; argumentsDelta: string; signature?: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number; reasoningTokens?: number; cacheReadTokens?: number; cacheWriteTokens?: number }
  /**
   * Normalised: `stop` (answered), `length` (max tokens), `tool_calls` (the turn ended to call tools:
   * OpenAI tool_calls, Anthropic/Bedrock tool_use, Gemini STOP with function calls), `content_filter`;
   * anything else is the provider's own reason, lower-cased.
   */
  | { type: 'finish'; reason: string };

export interface StreamRequest {
  endpoint: ResolvedEndpoint;
  model: string;
  messages: PromptMessage[];
  parameters: ConversationParameters;
  maxOutputTokens: number;
  signal: AbortSignal;
  /** Tools offered to the model; absent or empty means a plain chat reply. */
  tools?: ToolDefinition[];
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
  /** A short non-streaming answer (titles), with the usage the provider reported. */
  complete(request: CompleteRequest): Promise<CompletionResult>;
  /**
   * Transient failures (408/409/429/5xx, overloaded, dropped connections) become plain errors that
   * Temporal retries; everything else (400, 401/403, context too long, refusals) a non-retryable
   * ApplicationFailure whose message carries the provider's own words for the user.
   */
  classifyError(error: unknown): Error;
}

export interface EmbedRequest {
  endpoint: ResolvedEndpoint;
  model: string;
  /** One request's worth: activities/providers/embeddings.ts splits larger lists into batches. */
  inputs: string[];
  signal: AbortSignal;
  /** Models that can shorten their vectors (OpenAI text-embedding-3) return this many dimensions. */
  dimensions?: number;
}

export interface EmbedResult {
  /** One vector per input, in the inputs' order. */
  vectors: number[][];
  usage?: { inputTokens: number };
}

/**
 * Embeddings, separate from ModelProvider because only some SDKs have them (Anthropic has none): a chat-only
 * module need not stub `embed`, and ingestion depends on this narrow interface alone. An SDK that has both
 * (openai.ts) implements both in its one module. Errors come out classified as the chat calls' do.
 */
export interface EmbeddingsProvider {
  embed(request: EmbedRequest): Promise<EmbedResult>;
  classifyError(error: unknown): Error;
}

export const CONTINUE_INSTRUCTION =
  'Your previous answer was cut off. Continue it from exactly where it stopped: do not repeat anything, do not add a preamble.';

/** What follows a prompt to have a partial reply continued, the provider's way (none for an empty partial). */
export function continuationMessages(partial: string, strategy: ContinuationStrategy): PromptMessage[] {
  if (!partial) return [];
  return strategy === 'instruction' ? [{ role: 'assistant', content: partial }, { role: 'user', content: CONTINUE_INSTRUCTION }] : [{ role: 'assistant', content: partial }];
}
