import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ContentBlock,
  type ConverseStreamOutput,
  type Message,
  type SystemContentBlock,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { alternatingTurns } from './alternating-turns.ts';
import { classifyBedrockError } from './bedrock-errors.ts';
import { classifiedEvents } from './classified-stream.ts';
import { createClientCache } from './client-cache.ts';
import type { CompleteRequest, ModelProvider, PromptMessage, ProviderChunk, StreamRequest } from './provider.ts';

interface ConverseMessages {
  system?: SystemContentBlock[];
  messages: Message[];
  /** Whitespace cut from the end of an assistant prefill (Bedrock refuses it there); see stream(). */
  trimmedPrefill: boolean;
}

/**
 * System text apart, user/assistant turns alternating as Converse requires (adjacent turns of one role
 * joined). A last assistant turn is a prefill: Anthropic models on Bedrock refuse one that ends in
 * whitespace, so that whitespace is cut here and the continuation's leading whitespace dropped in turn.
 */
function toConverseMessages(messages: PromptMessage[]): ConverseMessages {
  const { system, turns } = alternatingTurns(messages);
  let trimmedPrefill = false;
  const last = turns.at(-1);
  if (last?.role === 'assistant') {
    const trimmed = last.text.trimEnd();
    trimmedPrefill = trimmed.length !== last.text.length;
    last.text = trimmed;
  }
  return {
    ...(system ? { system: [{ text: system }] } : {}),
    // Converse refuses blank text blocks, so an empty turn is left out.
    messages: turns.filter((turn) => turn.text.length > 0).map((turn) => ({ role: turn.role, content: [{ text: turn.text } as ContentBlock] })),
    trimmedPrefill,
  };
}

function finishReason(stopReason: string | undefined): string {
  if (stopReason === 'end_turn' || stopReason === 'stop_sequence') return 'stop';
  if (stopReason === 'max_tokens') return 'length';
  return stopReason ?? 'stop';
}

/**
 * AWS Bedrock's Converse API through `@aws-sdk/client-bedrock-runtime` (ConverseStream): text, reasoning
 * content, tool-use input deltas and usage. Continuation is `prefill`: Converse with Anthropic models
 * (what this endpoint is meant for) continues a trailing assistant message, as Anthropic's own API does;
 * the local server (workers/demo-provider/bedrock-converse.ts) behaves the same way.
 */
export function createBedrockProvider(): ModelProvider {
  const clientFor = createClientCache((endpoint: ResolvedEndpoint) => {
    if (!endpoint.aws) throw new Error(`Endpoint ${endpoint.name} has no AWS region configured`);
    return new BedrockRuntimeClient({
      region: endpoint.aws.region,
      // Without a key pair the SDK's default provider chain (environment, profile, SSO, instance role) signs.
      ...(endpoint.aws.credentials ? { credentials: endpoint.aws.credentials } : {}),
      ...(endpoint.baseURL ? { endpoint: endpoint.baseURL } : {}),
      // One attempt: Temporal retries the activity instead, visibly, with the workflow's policy.
      maxAttempts: 1,
      // HTTP/1.1, not the SDK's default HTTP/2 (there for bidirectional streams, which ConverseStream is not):
      // Bedrock serves ConverseStream on both, and the local server speaks HTTP/1.1 like the other fakes. One
      // socket per running reply, so the agent's limit is the worker's activity concurrency (1000), not
      // the SDK's 50, which would queue the 51st reply behind a whole stream.
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 10_000,
        // A socket silent this long is cut; only a backstop: the endpoint's streamIdleTimeoutMs acts first.
        requestTimeout: Math.max(120_000, endpoint.streamIdleTimeoutMs + 10_000),
        httpAgent: { keepAlive: true, maxSockets: 1000 },
        httpsAgent: { keepAlive: true, maxSockets: 1000 },
      }),
    });
  });

  return {
    continuation: 'prefill',

    async *stream(request: StreamRequest): AsyncIterable<ProviderChunk> {
      const { parameters } = request;
      // Anthropic models refuse extended thinking with an assistant prefill: a continuation goes on without it.
      const isPrefill = request.messages.at(-1)?.role === 'assistant';
      const thinkingBudget = isPrefill ? undefined : request.endpoint.thinkingBudgetTokens;
      const { trimmedPrefill, ...conversation } = toConverseMessages(request.messages);
      let stream: AsyncIterable<ConverseStreamOutput> | undefined;
      try {
        const response = await clientFor(request.endpoint).send(
          new ConverseStreamCommand({
            modelId: request.model,
            ...conversation,
            inferenceConfig: {
              maxTokens: request.maxOutputTokens + (thinkingBudget ?? 0),
              // Thinking requires the model's default sampling.
              ...(parameters.temperature != null && !thinkingBudget ? { temperature: Math.min(parameters.temperature, 1) } : {}),
              ...(parameters.top_p != null && !thinkingBudget ? { topP: parameters.top_p } : {}),
            },
            ...(thinkingBudget ? { additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: thinkingBudget } } } : {}),
          }),
          { abortSignal: request.signal },
        );
        stream = response.stream;
      } catch (error) {
        throw classifyBedrockError(error);
      }
      if (!stream) throw classifyBedrockError(new Error('Bedrock answered without an event stream'));
      const toolCalls = new Map<number, { id: string; name: string }>();
      // Bedrock sends messageStop before metadata; the finish is held back so it comes last, after usage.
      let stopReason: string | undefined;
      let skipLeadingWhitespace = trimmedPrefill;
      for await (const event of classifiedEvents(stream, classifyBedrockError)) {
        if (event.contentBlockStart?.start?.toolUse) {
          const index = event.contentBlockStart.contentBlockIndex ?? 0;
          const call = { id: event.contentBlockStart.start.toolUse.toolUseId ?? '', name: event.contentBlockStart.start.toolUse.name ?? '' };
          toolCalls.set(index, call);
          yield { type: 'tool_call', index, ...call, argumentsDelta: '' };
        } else if (event.contentBlockDelta?.delta) {
          const { delta, contentBlockIndex } = event.contentBlockDelta;
          if (delta.text !== undefined) {
            let text = delta.text;
            if (skipLeadingWhitespace) {
              text = text.trimStart();
              if (!text) continue;
              skipLeadingWhitespace = false;
            }
            yield { type: 'text', text };
          } else if (delta.reasoningContent?.text !== undefined) yield { type: 'reasoning', text: delta.reasoningContent.text };
          else if (delta.toolUse?.input !== undefined) {
            const index = contentBlockIndex ?? 0;
            const call = toolCalls.get(index);
            yield { type: 'tool_call', index, id: call?.id ?? '', name: call?.name ?? '', argumentsDelta: delta.toolUse.input };
          }
        } else if (event.messageStop) {
          stopReason = finishReason(event.messageStop.stopReason);
        } else if (event.metadata?.usage) {
          const usage = event.metadata.usage;
          yield {
            type: 'usage',
            inputTokens: usage.inputTokens ?? 0,
            outputTokens: usage.outputTokens ?? 0,
            ...(usage.cacheReadInputTokens != null ? { cacheReadTokens: usage.cacheReadInputTokens } : {}),
            ...(usage.cacheWriteInputTokens != null ? { cacheWriteTokens: usage.cacheWriteInputTokens } : {}),
          };
        }
        // Exception frames (throttlingException, modelStreamErrorException...) are thrown by the SDK's iterator.
      }
      if (stopReason) yield { type: 'finish', reason: stopReason };
    },

    async complete(request: CompleteRequest): Promise<string> {
      try {
        const { trimmedPrefill: _ignored, ...conversation } = toConverseMessages(request.messages);
        const response = await clientFor(request.endpoint).send(
          new ConverseCommand({
            modelId: request.model,
            ...conversation,
            inferenceConfig: { maxTokens: request.maxOutputTokens, ...(request.temperature != null ? { temperature: request.temperature } : {}) },
          }),
          { abortSignal: request.signal },
        );
        return (response.output?.message?.content ?? []).map((block) => block.text ?? '').join('');
      } catch (error) {
        throw classifyBedrockError(error);
      }
    },

    classifyError: classifyBedrockError,
  };
}
