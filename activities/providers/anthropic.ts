import Anthropic from '@anthropic-ai/sdk';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { alternatingTurns } from './alternating-turns.ts';
import { classifyAnthropicError } from './anthropic-errors.ts';
import { classifiedEvents } from './classified-stream.ts';
import { createClientCache } from './client-cache.ts';
import type { CompleteRequest, ModelProvider, PromptMessage, ProviderChunk, StreamRequest } from './provider.ts';

/** System text apart, user/assistant turns alternating as Anthropic requires. */
function toAnthropicMessages(messages: PromptMessage[]): { system?: string; messages: Anthropic.MessageParam[] } {
  const { system, turns } = alternatingTurns(messages);
  return { ...(system ? { system } : {}), messages: turns.map((turn) => ({ role: turn.role, content: turn.text })) };
}

/**
 * Anthropic's Messages API through `@anthropic-ai/sdk`: text, extended thinking (as reasoning), tool-use
 * argument deltas and usage. Continuation is `prefill`: Anthropic continues a last assistant message.
 */
export function createAnthropicProvider(): ModelProvider {
  // maxRetries 0: Temporal retries the activity instead, visibly, with the workflow's policy.
  const clientFor = createClientCache((endpoint: ResolvedEndpoint) => new Anthropic({ apiKey: endpoint.apiKey, baseURL: endpoint.baseURL, maxRetries: 0, timeout: 120_000 }));

  return {
    continuation: 'prefill',

    async *stream(request: StreamRequest): AsyncIterable<ProviderChunk> {
      const { parameters } = request;
      // Anthropic refuses extended thinking with an assistant prefill: a continuation goes on without it.
      const isPrefill = request.messages.at(-1)?.role === 'assistant';
      const thinkingBudget = isPrefill ? undefined : request.endpoint.thinkingBudgetTokens;
      let stream;
      try {
        stream = await clientFor(request.endpoint).messages.create(
          {
            model: request.model,
            max_tokens: request.maxOutputTokens + (thinkingBudget ?? 0),
            ...toAnthropicMessages(request.messages),
            stream: true,
            ...(thinkingBudget ? { thinking: { type: 'enabled' as const, budget_tokens: thinkingBudget } } : {}),
            ...(parameters.temperature != null && !thinkingBudget ? { temperature: Math.min(parameters.temperature, 1) } : {}),
            ...(parameters.top_p != null && !thinkingBudget ? { top_p: parameters.top_p } : {}),
          },
          { signal: request.signal },
        );
      } catch (error) {
        throw classifyAnthropicError(error);
      }
      const toolCalls = new Map<number, { id: string; name: string }>();
      let inputTokens = 0;
      let cacheReadTokens: number | undefined;
      let cacheWriteTokens: number | undefined;
      for await (const event of classifiedEvents(stream, classifyAnthropicError)) {
        if (event.type === 'message_start') {
          inputTokens = event.message.usage.input_tokens;
          cacheReadTokens = event.message.usage.cache_read_input_tokens ?? undefined;
          cacheWriteTokens = event.message.usage.cache_creation_input_tokens ?? undefined;
        } else if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
          toolCalls.set(event.index, { id: event.content_block.id, name: event.content_block.name });
          yield { type: 'tool_call', index: event.index, id: event.content_block.id, name: event.content_block.name, argumentsDelta: '' };
        } else if (event.type === 'content_block_delta') {
          const delta = event.delta;
          if (delta.type === 'text_delta') yield { type: 'text', text: delta.text };
          else if (delta.type === 'thinking_delta') yield { type: 'reasoning', text: delta.thinking };
          else if (delta.type === 'input_json_delta') {
            const call = toolCalls.get(event.index);
            yield { type: 'tool_call', index: event.index, id: call?.id ?? '', name: call?.name ?? '', argumentsDelta: delta.partial_json };
          }
        } else if (event.type === 'message_delta') {
          yield { type: 'usage', inputTokens, outputTokens: event.usage.output_tokens, cacheReadTokens, cacheWriteTokens };
          if (event.delta.stop_reason) yield { type: 'finish', reason: event.delta.stop_reason === 'end_turn' ? 'stop' : event.delta.stop_reason === 'max_tokens' ? 'length' : event.delta.stop_reason };
        }
      }
    },

    async complete(request: CompleteRequest): Promise<string> {
      try {
        const message = await clientFor(request.endpoint).messages.create(
          { model: request.model, max_tokens: request.maxOutputTokens, ...toAnthropicMessages(request.messages), ...(request.temperature != null ? { temperature: request.temperature } : {}) },
          { signal: request.signal },
        );
        return message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      } catch (error) {
        throw classifyAnthropicError(error);
      }
    },

    classifyError: classifyAnthropicError,
  };
}
