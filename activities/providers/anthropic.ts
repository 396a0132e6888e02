import Anthropic from '@anthropic-ai/sdk';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { alternatingTurns, continuesToolLoop, type Turn } from './alternating-turns.ts';
import { classifyAnthropicError } from './anthropic-errors.ts';
import { classifiedEvents } from './classified-stream.ts';
import { createClientCache, NO_REDIRECTS } from './client-cache.ts';
import type { CompleteRequest, CompletionResult, ModelProvider, PromptMessage, ProviderChunk, StreamRequest, ToolDefinition } from './provider.ts';

function toAnthropicContent(turn: Turn): string | Anthropic.ContentBlockParam[] {
  const [only] = turn.blocks;
  // A text-only turn goes as a plain string, as it always has.
  if (turn.blocks.length === 1 && only?.type === 'text') return only.text;
  return turn.blocks
    .filter((block) => block.type !== 'text' || block.text.length > 0)
    .map((block): Anthropic.ContentBlockParam => {
      if (block.type === 'text') return { type: 'text', text: block.text };
      if (block.type === 'image') return { type: 'image', source: { type: 'base64', media_type: block.image.mimeType, data: block.image.data } };
      if (block.type === 'tool_use') return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
      return { type: 'tool_result', tool_use_id: block.toolUseId, ...(block.content ? { content: block.content } : {}), ...(block.isError ? { is_error: true } : {}) };
    });
}

/**
 * System text apart, user/assistant turns alternating as Anthropic requires, tool calls and results as
 * blocks, a user's images as base64 image blocks before the text they came with. A request that offers no tools (a title) carries its tool history as text: Anthropic has refused
 * tool blocks in a request that defines no tools ("Requests which include tool_use or tool_result blocks
 * must define tools"), and such a request only needs to read what happened.
 */
function toAnthropicMessages(messages: PromptMessage[], tools: ToolDefinition[] | undefined): { system?: string; messages: Anthropic.MessageParam[] } {
  const { system, turns } = alternatingTurns(messages, { toolsAsText: !tools?.length });
  return { ...(system ? { system } : {}), messages: turns.map((turn) => ({ role: turn.role, content: toAnthropicContent(turn) })) };
}

function toAnthropicTools(tools: ToolDefinition[] | undefined): { tools?: Anthropic.Tool[] } {
  if (!tools?.length) return {};
  return { tools: tools.map((tool) => ({ name: tool.name, description: tool.description, input_schema: { type: 'object' as const, ...tool.parameters } })) };
}

/** Anthropic's stop reasons in the provider interface's normalised terms (provider.ts, the finish chunk). */
function finishReason(stopReason: string): string {
  if (stopReason === 'end_turn' || stopReason === 'stop_sequence') return 'stop';
  if (stopReason === 'max_tokens') return 'length';
  if (stopReason === 'tool_use') return 'tool_calls';
  if (stopReason === 'refusal') return 'content_filter';
  return stopReason.toLowerCase();
}

/**
 * Anthropic's Messages API through `@anthropic-ai/sdk`: text, extended thinking (as reasoning), tool-use
 * argument deltas and usage. Continuation is `prefill`: Anthropic continues a last assistant message.
 */
export function createAnthropicProvider(): ModelProvider {
  // maxRetries 0: Temporal retries the activity instead, visibly, with the workflow's policy.
  const clientFor = createClientCache((endpoint: ResolvedEndpoint) => new Anthropic({ apiKey: endpoint.apiKey, baseURL: endpoint.baseURL, maxRetries: 0, timeout: 120_000, fetchOptions: NO_REDIRECTS }));

  return {
    continuation: 'prefill',

    async *stream(request: StreamRequest): AsyncIterable<ProviderChunk> {
      const { parameters } = request;
      // Anthropic refuses extended thinking with an assistant prefill: a continuation goes on without it. So
      // does a request that sends tool results back: thinking would need the calling turn's signed
      // thinking blocks, which prompts do not carry.
      const isPrefill = request.messages.at(-1)?.role === 'assistant';
      const thinkingBudget = isPrefill || continuesToolLoop(request.messages) ? undefined : request.endpoint.thinkingBudgetTokens;
      let stream;
      try {
        stream = await clientFor(request.endpoint).messages.create(
          {
            model: request.model,
            max_tokens: request.maxOutputTokens + (thinkingBudget ?? 0),
            ...toAnthropicMessages(request.messages, request.tools),
            ...toAnthropicTools(request.tools),
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
      // Calls by content block index; each is numbered by its position among the turn's calls (0, 1 ...), as
      // OpenAI numbers tool_calls, not by block index (a text or thinking block comes first).
      const toolCalls = new Map<number, { index: number; id: string; name: string }>();
      let inputTokens = 0;
      let cacheReadTokens: number | undefined;
      let cacheWriteTokens: number | undefined;
      for await (const event of classifiedEvents(stream, classifyAnthropicError)) {
        if (event.type === 'message_start') {
          inputTokens = event.message.usage.input_tokens;
          cacheReadTokens = event.message.usage.cache_read_input_tokens ?? undefined;
          cacheWriteTokens = event.message.usage.cache_creation_input_tokens ?? undefined;
        } else if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
          const call = { index: toolCalls.size, id: event.content_block.id, name: event.content_block.name };
          toolCalls.set(event.index, call);
          yield { type: 'tool_call', ...call, argumentsDelta: '' };
        } else if (event.type === 'content_block_delta') {
          const delta = event.delta;
          if (delta.type === 'text_delta') yield { type: 'text', text: delta.text };
          else if (delta.type === 'thinking_delta') yield { type: 'reasoning', text: delta.thinking };
          else if (delta.type === 'input_json_delta') {
            const call = toolCalls.get(event.index);
            if (!call) throw classifyAnthropicError(new Error(`Anthropic streamed tool input for block ${event.index}, which was not a tool_use block`));
            if (delta.partial_json) yield { type: 'tool_call', ...call, argumentsDelta: delta.partial_json };
          }
        } else if (event.type === 'message_delta') {
          yield { type: 'usage', inputTokens, outputTokens: event.usage.output_tokens, cacheReadTokens, cacheWriteTokens };
          if (event.delta.stop_reason) yield { type: 'finish', reason: finishReason(event.delta.stop_reason) };
        }
      }
    },

    async complete(request: CompleteRequest): Promise<CompletionResult> {
      try {
        const message = await clientFor(request.endpoint).messages.create(
          { model: request.model, max_tokens: request.maxOutputTokens, ...toAnthropicMessages(request.messages, undefined), ...(request.temperature != null ? { temperature: request.temperature } : {}) },
          { signal: request.signal },
        );
        return {
          text: message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
          usage: { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens },
        };
      } catch (error) {
        throw classifyAnthropicError(error);
      }
    },

    classifyError: classifyAnthropicError,
  };
}
