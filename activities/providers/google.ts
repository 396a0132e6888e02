import { GoogleGenAI, type Content, type GenerateContentResponse } from '@google/genai';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { createClientCache } from './client-cache.ts';
import { classifiedEvents } from './classified-stream.ts';
import { classifyGoogleError } from './google-errors.ts';
import type { CompleteRequest, ModelProvider, PromptMessage, ProviderChunk, StreamRequest } from './provider.ts';

/** System text apart; user/model turns, adjacent turns of one role joined. */
function toGeminiContents(messages: PromptMessage[]): { systemInstruction?: string; contents: Content[] } {
  const system = messages.filter((message) => message.role === 'system').map((message) => message.content).join('\n\n');
  const contents: Content[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const role = message.role === 'assistant' ? 'model' : 'user';
    const last = contents.at(-1);
    if (last?.role === role) last.parts!.push({ text: message.content });
    else contents.push({ role, parts: [{ text: message.content }] });
  }
  return { ...(system ? { systemInstruction: system } : {}), contents };
}

/**
 * Gemini through `@google/genai` (the maintained successor of `@google/generative-ai`): streamed
 * generateContent with text, thought parts (as reasoning), function calls and usage. A Gemini model does
 * not extend a last model turn, so a retry continues with an instruction.
 */
export function createGoogleProvider(): ModelProvider {
  // attempts 1: Temporal retries the activity instead, visibly, with the workflow's policy.
  const clientFor = createClientCache(
    (endpoint: ResolvedEndpoint) => new GoogleGenAI({ apiKey: endpoint.apiKey, httpOptions: { ...(endpoint.baseURL ? { baseUrl: endpoint.baseURL } : {}), retryOptions: { attempts: 1 }, timeout: 120_000 } }),
  );

  return {
    continuation: 'instruction',

    async *stream(request: StreamRequest): AsyncIterable<ProviderChunk> {
      const { parameters } = request;
      const thinkingBudget = request.endpoint.thinkingBudgetTokens;
      const { systemInstruction, contents } = toGeminiContents(request.messages);
      let stream: AsyncGenerator<GenerateContentResponse>;
      try {
        stream = await clientFor(request.endpoint).models.generateContentStream({
          model: request.model,
          contents,
          config: {
            ...(systemInstruction ? { systemInstruction } : {}),
            maxOutputTokens: request.maxOutputTokens,
            ...(parameters.temperature != null ? { temperature: parameters.temperature } : {}),
            ...(parameters.top_p != null ? { topP: parameters.top_p } : {}),
            ...(thinkingBudget ? { thinkingConfig: { includeThoughts: true, thinkingBudget } } : {}),
            abortSignal: request.signal,
          },
        });
      } catch (error) {
        throw classifyGoogleError(error);
      }
      for await (const response of classifiedEvents(stream, classifyGoogleError)) {
        const candidate = response.candidates?.[0];
        for (const [index, part] of (candidate?.content?.parts ?? []).entries()) {
          if (part.functionCall) {
            yield { type: 'tool_call', index, id: part.functionCall.id ?? `${part.functionCall.name}-${index}`, name: part.functionCall.name ?? '', argumentsDelta: JSON.stringify(part.functionCall.args ?? {}) };
          } else if (part.text) yield part.thought ? { type: 'reasoning', text: part.text } : { type: 'text', text: part.text };
        }
        const usage = response.usageMetadata;
        if (usage) {
          yield {
            type: 'usage',
            inputTokens: usage.promptTokenCount ?? 0,
            outputTokens: usage.candidatesTokenCount ?? 0,
            reasoningTokens: usage.thoughtsTokenCount ?? undefined,
            cacheReadTokens: usage.cachedContentTokenCount ?? undefined,
          };
        }
        if (candidate?.finishReason) yield { type: 'finish', reason: candidate.finishReason === 'STOP' ? 'stop' : candidate.finishReason === 'MAX_TOKENS' ? 'length' : candidate.finishReason.toLowerCase() };
      }
    },

    async complete(request: CompleteRequest): Promise<string> {
      const { systemInstruction, contents } = toGeminiContents(request.messages);
      try {
        const response = await clientFor(request.endpoint).models.generateContent({
          model: request.model,
          contents,
          config: { ...(systemInstruction ? { systemInstruction } : {}), maxOutputTokens: request.maxOutputTokens, ...(request.temperature != null ? { temperature: request.temperature } : {}), abortSignal: request.signal },
        });
        return (response.candidates?.[0]?.content?.parts ?? []).filter((part) => !part.thought).map((part) => part.text ?? '').join('');
      } catch (error) {
        throw classifyGoogleError(error);
      }
    },

    classifyError: classifyGoogleError,
  };
}
