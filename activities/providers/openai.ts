import OpenAI from 'openai';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { createClientCache, NO_REDIRECTS } from './client-cache.ts';
import { classifiedEvents } from './classified-stream.ts';
import { classifyOpenAIError } from './openai-errors.ts';
import type { CompleteRequest, CompletionResult, EmbedRequest, EmbedResult, EmbeddingsProvider, ModelProvider, PromptMessage, ProviderChunk, StreamRequest, ToolDefinition } from './provider.ts';

type ChatMessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/**
 * The prompt in chat-completions terms: an assistant turn's calls become `tool_calls` (content null when
 * it said nothing, as OpenAI itself sends it back), each result a `tool` message answering its call's id.
 * Chat completions has no error flag on a tool message, so a failed call's text goes as it is. A user
 * message with images becomes content parts (text, then `image_url` data URLs); without, a plain string.
 */
function toOpenAIMessages(messages: PromptMessage[]): ChatMessageParam[] {
  return messages.map((message): ChatMessageParam => {
    if (message.role === 'tool') return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    if (message.role === 'assistant' && message.toolCalls?.length) {
      return {
        role: 'assistant',
        content: message.content || null,
        tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
      };
    }
    if (message.role === 'user' && message.images?.length) {
      // Vision input: the text part (when there is text), then each image as a base64 data URL.
      return {
        role: 'user',
        content: [
          ...(message.content ? [{ type: 'text' as const, text: message.content }] : []),
          ...message.images.map((image) => ({ type: 'image_url' as const, image_url: { url: `data:${image.mimeType};base64,${image.data}` } })),
        ],
      };
    }
    return { role: message.role, content: message.content };
  });
}

/** Absent rather than empty: OpenAI rejects an empty `tools` array. */
function toOpenAITools(tools: ToolDefinition[] | undefined): { tools?: OpenAI.Chat.Completions.ChatCompletionTool[] } {
  if (!tools?.length) return {};
  return { tools: tools.map((tool) => ({ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } })) };
}

/** OpenAI and every OpenAI-compatible server, through the `openai` SDK's chat completions streaming. */
export function createOpenAIProvider(): ModelProvider & EmbeddingsProvider {
  // maxRetries 0: Temporal retries the activity instead, visibly, with the workflow's policy.
  const clientFor = createClientCache((endpoint: ResolvedEndpoint) => new OpenAI({ apiKey: endpoint.apiKey, baseURL: endpoint.baseURL, maxRetries: 0, timeout: 120_000, fetchOptions: NO_REDIRECTS }));

  return {
    continuation: 'instruction',

    async *stream(request: StreamRequest): AsyncIterable<ProviderChunk> {
      const { parameters } = request;
      let stream;
      try {
        stream = await clientFor(request.endpoint).chat.completions.create(
          {
            model: request.model,
            messages: toOpenAIMessages(request.messages),
            ...toOpenAITools(request.tools),
            stream: true,
            stream_options: { include_usage: true },
            max_tokens: request.maxOutputTokens,
            ...(parameters.temperature != null ? { temperature: parameters.temperature } : {}),
            ...(parameters.top_p != null ? { top_p: parameters.top_p } : {}),
            ...(parameters.frequency_penalty != null ? { frequency_penalty: parameters.frequency_penalty } : {}),
            ...(parameters.presence_penalty != null ? { presence_penalty: parameters.presence_penalty } : {}),
          },
          { signal: request.signal },
        );
      } catch (error) {
        throw classifyOpenAIError(error);
      }
      // OpenAI names a call (id, function name) only in its first delta; later deltas carry the index and
      // an arguments piece. Every chunk this module yields names its call, so no consumer has to remember.
      const calls = new Map<number, { id: string; name: string }>();
      for await (const chunk of classifiedEvents(stream, classifyOpenAIError)) {
        const choice = chunk.choices[0];
        const delta = choice?.delta as (OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string; reasoning?: string }) | undefined;
        const reasoning = delta?.reasoning_content ?? delta?.reasoning;
        if (reasoning) yield { type: 'reasoning', text: reasoning };
        if (delta?.content) yield { type: 'text', text: delta.content };
        for (const [position, call] of (delta?.tool_calls ?? []).entries()) {
          // Some compatible servers leave out the index when each call arrives whole in one delta.
          const index = call.index ?? position;
          const known = calls.get(index) ?? { id: '', name: '' };
          if (call.id) known.id = call.id;
          if (call.function?.name) known.name = call.function.name;
          calls.set(index, known);
          yield { type: 'tool_call', index, id: known.id, name: known.name, argumentsDelta: call.function?.arguments ?? '' };
        }
        if (chunk.usage) {
          yield {
            type: 'usage',
            inputTokens: chunk.usage.prompt_tokens,
            outputTokens: chunk.usage.completion_tokens,
            reasoningTokens: chunk.usage.completion_tokens_details?.reasoning_tokens,
            cacheReadTokens: chunk.usage.prompt_tokens_details?.cached_tokens,
          };
        }
        // Already in the common vocabulary: stop, length, tool_calls, content_filter.
        if (choice?.finish_reason) yield { type: 'finish', reason: choice.finish_reason };
      }
    },

    async complete(request: CompleteRequest): Promise<CompletionResult> {
      try {
        const completion = await clientFor(request.endpoint).chat.completions.create(
          { model: request.model, messages: toOpenAIMessages(request.messages), max_tokens: request.maxOutputTokens, ...(request.temperature != null ? { temperature: request.temperature } : {}) },
          { signal: request.signal },
        );
        const text = completion.choices[0]?.message?.content ?? '';
        const usage = completion.usage;
        return usage ? { text, usage: { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens } } : { text };
      } catch (error) {
        throw classifyOpenAIError(error);
      }
    },

    async embed(request: EmbedRequest): Promise<EmbedResult> {
      try {
        // `float`, not the SDK's default base64: several OpenAI-compatible servers ignore encoding_format.
        const response = await clientFor(request.endpoint).embeddings.create(
          { model: request.model, input: request.inputs, encoding_format: 'float', ...(request.dimensions ? { dimensions: request.dimensions } : {}) },
          { signal: request.signal },
        );
        const vectors = [...response.data].sort((first, second) => first.index - second.index).map((item) => item.embedding);
        return response.usage ? { vectors, usage: { inputTokens: response.usage.prompt_tokens } } : { vectors };
      } catch (error) {
        throw classifyOpenAIError(error);
      }
    },

    classifyError: classifyOpenAIError,
  };
}
