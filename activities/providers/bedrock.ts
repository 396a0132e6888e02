import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ContentBlock,
  type ConverseStreamOutput,
  type ImageFormat,
  type Message,
  type SystemContentBlock,
  type ToolConfiguration,
  type ToolUseBlock,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { alternatingTurns, continuesToolLoop, type TurnBlock } from './alternating-turns.ts';
import { classifyBedrockError } from './bedrock-errors.ts';
import { classifiedEvents } from './classified-stream.ts';
import { createClientCache } from './client-cache.ts';
import type { CompleteRequest, CompletionResult, ModelProvider, PromptImage, PromptMessage, ProviderChunk, StreamRequest, ToolDefinition } from './provider.ts';

interface ConverseMessages {
  system?: SystemContentBlock[];
  messages: Message[];
  toolConfig?: ToolConfiguration;
  /** Whitespace cut from the end of an assistant prefill (Bedrock refuses it there); see stream(). */
  trimmedPrefill: boolean;
}

/** The SDK's JSON document type (a tool's input, a schema), which plain JSON objects are. */
type DocumentType = NonNullable<ToolUseBlock['input']>;

/** Converse names an image's type by its format alone (`png`, not `image/png`). */
const IMAGE_FORMATS = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' } as const satisfies Record<PromptImage['mimeType'], ImageFormat>;

function toConverseBlock(block: TurnBlock): ContentBlock {
  if (block.type === 'text') return { text: block.text };
  // The SDK takes the raw bytes and base64-encodes them into the JSON body itself.
  if (block.type === 'image') return { image: { format: IMAGE_FORMATS[block.image.mimeType], source: { bytes: Buffer.from(block.image.data, 'base64') } } };
  if (block.type === 'tool_use') return { toolUse: { toolUseId: block.id, name: block.name, input: block.input as DocumentType } };
  // Converse refuses a blank text block, and an error result without content: an empty result says so instead.
  return { toolResult: { toolUseId: block.toolUseId, content: [{ text: block.content || '(no output)' }], status: block.isError ? 'error' : 'success' } };
}

/**
 * System text apart, user/assistant turns alternating as Converse requires (adjacent turns of one role
 * merged, tool calls and results as toolUse/toolResult blocks, a user's images as image blocks before the
 * text they came with). Converse refuses tool blocks without a
 * toolConfig, so a request that offers no tools carries its tool history as text. A last assistant turn
 * is a prefill: Anthropic models on Bedrock refuse one that ends in whitespace, so that whitespace is cut
 * here and the continuation's leading whitespace dropped in turn.
 */
function toConverseMessages(messages: PromptMessage[], tools: ToolDefinition[] | undefined): ConverseMessages {
  const offersTools = (tools?.length ?? 0) > 0;
  const { system, turns } = alternatingTurns(messages, { toolsAsText: !offersTools });
  let trimmedPrefill = false;
  const lastBlock = turns.at(-1)?.role === 'assistant' ? turns.at(-1)!.blocks.at(-1) : undefined;
  if (lastBlock?.type === 'text') {
    const trimmed = lastBlock.text.trimEnd();
    trimmedPrefill = trimmed.length !== lastBlock.text.length;
    lastBlock.text = trimmed;
  }
  const converse: Message[] = [];
  for (const turn of turns) {
    // Converse refuses blank text blocks, so they are left out, and a turn left empty with them.
    const blocks = turn.blocks.filter((block) => block.type !== 'text' || block.text.length > 0);
    if (blocks.length > 0) converse.push({ role: turn.role, content: blocks.map(toConverseBlock) });
  }
  return {
    ...(system ? { system: [{ text: system }] } : {}),
    messages: converse,
    ...(offersTools ? { toolConfig: { tools: tools!.map((tool) => ({ toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.parameters as DocumentType } } })) } } : {}),
    trimmedPrefill,
  };
}

/** Converse's stop reasons in the provider interface's normalised terms (provider.ts, the finish chunk). */
function finishReason(stopReason: string | undefined): string {
  if (stopReason === undefined || stopReason === 'end_turn' || stopReason === 'stop_sequence') return 'stop';
  if (stopReason === 'max_tokens') return 'length';
  if (stopReason === 'tool_use') return 'tool_calls';
  if (stopReason === 'guardrail_intervened' || stopReason === 'content_filtered') return 'content_filter';
  return stopReason.toLowerCase();
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
      // So does a request that sends tool results back: thinking would need the calling turn's signed
      // reasoning blocks, which prompts do not carry.
      const isPrefill = request.messages.at(-1)?.role === 'assistant';
      const thinkingBudget = isPrefill || continuesToolLoop(request.messages) ? undefined : request.endpoint.thinkingBudgetTokens;
      const { trimmedPrefill, ...conversation } = toConverseMessages(request.messages, request.tools);
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
      // Calls by content block index; each is numbered by its position among the turn's calls (0, 1 ...), as
      // OpenAI numbers tool_calls, not by block index (a text or reasoning block comes first).
      const toolCalls = new Map<number, { index: number; id: string; name: string }>();
      // Bedrock sends messageStop before metadata; the finish is held back so it comes last, after usage.
      let stopReason: string | undefined;
      let skipLeadingWhitespace = trimmedPrefill;
      for await (const event of classifiedEvents(stream, classifyBedrockError)) {
        if (event.contentBlockStart?.start?.toolUse) {
          const { toolUse } = event.contentBlockStart.start;
          const call = { index: toolCalls.size, id: toolUse.toolUseId ?? '', name: toolUse.name ?? '' };
          toolCalls.set(event.contentBlockStart.contentBlockIndex ?? 0, call);
          yield { type: 'tool_call', ...call, argumentsDelta: '' };
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
            const call = toolCalls.get(contentBlockIndex ?? 0);
            if (!call) throw classifyBedrockError(new Error(`Bedrock streamed tool input for block ${contentBlockIndex}, which was not a toolUse block`));
            if (delta.toolUse.input) yield { type: 'tool_call', ...call, argumentsDelta: delta.toolUse.input };
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

    async complete(request: CompleteRequest): Promise<CompletionResult> {
      try {
        const { trimmedPrefill: _ignored, ...conversation } = toConverseMessages(request.messages, undefined);
        const response = await clientFor(request.endpoint).send(
          new ConverseCommand({
            modelId: request.model,
            ...conversation,
            inferenceConfig: { maxTokens: request.maxOutputTokens, ...(request.temperature != null ? { temperature: request.temperature } : {}) },
          }),
          { abortSignal: request.signal },
        );
        const text = (response.output?.message?.content ?? []).map((block) => block.text ?? '').join('');
        const usage = response.usage;
        return { text, ...(usage ? { usage: { inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 } } : {}) };
      } catch (error) {
        throw classifyBedrockError(error);
      }
    },

    classifyError: classifyBedrockError,
  };
}
