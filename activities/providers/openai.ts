import OpenAI from 'openai';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { createClientCache } from './client-cache.ts';
import { classifiedEvents } from './classified-stream.ts';
import { classifyOpenAIError } from './openai-errors.ts';
import type { CompleteRequest, ModelProvider, ProviderChunk, StreamRequest } from './provider.ts';

/** OpenAI and every OpenAI-compatible server, through the `openai` SDK's chat completions streaming. */
export function createOpenAIProvider(): ModelProvider {
  // maxRetries 0: Temporal retries the activity instead, visibly, with the workflow's policy.
  const clientFor = createClientCache((endpoint: ResolvedEndpoint) => new OpenAI({ apiKey: endpoint.apiKey, baseURL: endpoint.baseURL, maxRetries: 0, timeout: 120_000 }));

  return {
    continuation: 'instruction',

    async *stream(request: StreamRequest): AsyncIterable<ProviderChunk> {
      const { parameters } = request;
      let stream;
      try {
        stream = await clientFor(request.endpoint).chat.completions.create(
          {
            model: request.model,
            messages: request.messages,
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
      for await (const chunk of classifiedEvents(stream, classifyOpenAIError)) {
        const choice = chunk.choices[0];
        const delta = choice?.delta as (OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string; reasoning?: string }) | undefined;
        const reasoning = delta?.reasoning_content ?? delta?.reasoning;
        if (reasoning) yield { type: 'reasoning', text: reasoning };
        if (delta?.content) yield { type: 'text', text: delta.content };
        for (const call of delta?.tool_calls ?? []) {
          yield { type: 'tool_call', index: call.index, id: call.id ?? '', name: call.function?.name ?? '', argumentsDelta: call.function?.arguments ?? '' };
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
        if (choice?.finish_reason) yield { type: 'finish', reason: choice.finish_reason };
      }
    },

    async complete(request: CompleteRequest): Promise<string> {
      try {
        const completion = await clientFor(request.endpoint).chat.completions.create(
          { model: request.model, messages: request.messages, max_tokens: request.maxOutputTokens, ...(request.temperature != null ? { temperature: request.temperature } : {}) },
          { signal: request.signal },
        );
        return completion.choices[0]?.message?.content ?? '';
      } catch (error) {
        throw classifyOpenAIError(error);
      }
    },

    classifyError: classifyOpenAIError,
  };
}
