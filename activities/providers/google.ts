import { randomUUID } from 'node:crypto';
import { GoogleGenAI, type Content, type GenerateContentResponse, type Part, type Tool } from '@google/genai';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { createClientCache } from './client-cache.ts';
import { classifiedEvents } from './classified-stream.ts';
import { classifyGoogleError } from './google-errors.ts';
import type { CompleteRequest, CompletionResult, ModelProvider, PromptMessage, ProviderChunk, StreamRequest, ToolDefinition } from './provider.ts';

/** A call's JSON text as Gemini's `args` object; text that is not a JSON object (another model wrote it) is kept whole. */
function argsObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // not JSON: kept as text below
  }
  return { arguments: text };
}

/** The parts one prompt message becomes; its Gemini role is 'model' for assistant turns, 'user' otherwise. */
function partsOf(message: Exclude<PromptMessage, { role: 'system' }>): Part[] {
  if (message.role === 'tool') {
    // Gemini reads `output` as the function's result and `error` as its failure.
    const response = message.isError ? { error: message.content } : { output: message.content };
    return [{ functionResponse: { id: message.toolCallId, name: message.name, response } }];
  }
  if (message.role === 'assistant' && message.toolCalls?.length) {
    // Gemini refuses empty text parts, and a turn that only called tools said nothing.
    return [
      ...(message.content ? [{ text: message.content }] : []),
      // A call goes back with the thought signature it came with (Gemini 3 refuses it without).
      ...message.toolCalls.map((call) => ({ functionCall: { id: call.id, name: call.name, args: argsObject(call.arguments) }, ...(call.signature ? { thoughtSignature: call.signature } : {}) })),
    ];
  }
  if (message.role === 'user' && message.images?.length) {
    // Images first, then the text, as Gemini's vision guide advises; an image-only message has no text part
    // (Gemini refuses an empty one).
    return [...message.images.map((image) => ({ inlineData: { mimeType: image.mimeType, data: image.data } })), ...(message.content ? [{ text: message.content }] : [])];
  }
  return [{ text: message.content }];
}

/**
 * System text apart; user/model turns, adjacent turns of one role joined (a user's images travel as
 * inlineData parts, each message's images before its text). Tool results travel as
 * functionResponse parts of a user turn, so the results of parallel calls join into the one turn that
 * answers the model's turn of calls, as Gemini expects.
 */
function toGeminiContents(messages: PromptMessage[]): { systemInstruction?: string; contents: Content[] } {
  const system = messages.filter((message) => message.role === 'system').map((message) => message.content).join('\n\n');
  const contents: Content[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const role = message.role === 'assistant' ? 'model' : 'user';
    const last = contents.at(-1);
    if (last?.role === role) last.parts!.push(...partsOf(message));
    else contents.push({ role, parts: partsOf(message) });
  }
  return { ...(system ? { systemInstruction: system } : {}), contents };
}

/** The tools as function declarations; the schema goes as JSON Schema, which Gemini takes as it is. */
function toGeminiTools(tools: ToolDefinition[] | undefined): { tools?: Tool[] } {
  if (!tools?.length) return {};
  return { tools: [{ functionDeclarations: tools.map((tool) => ({ name: tool.name, description: tool.description, parametersJsonSchema: tool.parameters })) }] };
}

function finishReasonOf(reason: string, calledTools: boolean): string {
  // Gemini ends a turn of function calls with STOP; the common vocabulary says why the turn ended.
  if (reason === 'STOP') return calledTools ? 'tool_calls' : 'stop';
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason === 'SAFETY') return 'content_filter';
  return reason.toLowerCase();
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
            ...toGeminiTools(request.tools),
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
      let calls = 0;
      let usage: GenerateContentResponse['usageMetadata'];
      let finishReason: string | undefined;
      for await (const response of classifiedEvents(stream, classifyGoogleError)) {
        const candidate = response.candidates?.[0];
        for (const part of candidate?.content?.parts ?? []) {
          if (part.functionCall) {
            // Gemini sends each call whole, in one part; the index counts calls over the whole stream. Gemini
            // 2.x gives no call id, so one is made up: the result must name the call it answers.
            const { id, name, args } = part.functionCall;
            yield { type: 'tool_call', index: calls, id: id || `call_${randomUUID()}`, name: name ?? '', argumentsDelta: JSON.stringify(args ?? {}), ...(part.thoughtSignature ? { signature: part.thoughtSignature } : {}) };
            calls += 1;
          } else if (part.text) yield part.thought ? { type: 'reasoning', text: part.text } : { type: 'text', text: part.text };
        }
        // usageMetadata is a running total that Gemini may repeat on several chunks: only the last one counts.
        if (response.usageMetadata) usage = response.usageMetadata;
        if (candidate?.finishReason) finishReason = candidate.finishReason;
      }
      if (usage) {
        yield {
          type: 'usage',
          inputTokens: usage.promptTokenCount ?? 0,
          outputTokens: usage.candidatesTokenCount ?? 0,
          reasoningTokens: usage.thoughtsTokenCount ?? undefined,
          cacheReadTokens: usage.cachedContentTokenCount ?? undefined,
        };
      }
      if (finishReason) yield { type: 'finish', reason: finishReasonOf(finishReason, calls > 0) };
    },

    async complete(request: CompleteRequest): Promise<CompletionResult> {
      const { systemInstruction, contents } = toGeminiContents(request.messages);
      try {
        const response = await clientFor(request.endpoint).models.generateContent({
          model: request.model,
          contents,
          config: { ...(systemInstruction ? { systemInstruction } : {}), maxOutputTokens: request.maxOutputTokens, ...(request.temperature != null ? { temperature: request.temperature } : {}), abortSignal: request.signal },
        });
        const text = (response.candidates?.[0]?.content?.parts ?? []).filter((part) => !part.thought).map((part) => part.text ?? '').join('');
        const usage = response.usageMetadata;
        // Thoughts are billed as output (shared/run-charge.ts counts them so for streamed replies too).
        return usage ? { text, usage: { inputTokens: usage.promptTokenCount ?? 0, outputTokens: (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0) } } : { text };
      } catch (error) {
        throw classifyGoogleError(error);
      }
    },

    classifyError: classifyGoogleError,
  };
}
