import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import { afterPrefill, callTokens, jsonPieces, thinkingToolLoopError, type AnthropicHandlerContext } from './anthropic-messages.ts';
import { planReply, replyTokens, type ChatMessage } from './reply-script.ts';
import { paceTokens } from './token-pacer.ts';
import { IMAGE_FORMATS, decodeBase64, sniffImageType, type SeenImage } from './vision-input.ts';

/**
 * AWS Bedrock's Converse API as `@aws-sdk/client-bedrock-runtime` sees it: `POST /model/<modelId>/converse-stream`
 * answers `application/vnd.amazon.eventstream` binary frames (messageStart, contentBlockDelta with text or
 * reasoningContent, contentBlockStop, messageStop, metadata with usage), encoded by the SDK's own codec so
 * the prelude and message CRCs are the real ones; `POST /model/<modelId>/converse` answers one JSON document.
 * Requests must be SigV4-signed (the signature's shape is checked, not its value: any key pair signs).
 * Errors are Bedrock's: an HTTP status, `x-amzn-errortype` and `{"message": ...}`; mid-stream, an
 * `exception` frame (`[drop=N exception=throttlingException ...]` sends one instead of cutting the socket).
 *
 * Tools as Converse does them: `toolConfig.tools` are what the reply script may call; a planned call
 * streams after the text as contentBlockStart (`toolUse`, id `tooluse_...`), contentBlockDelta pieces of
 * its input JSON and contentBlockStop, and the message stops with `tool_use`. Calls and results sent back
 * (toolUse blocks, then toolResult blocks in the next user turn) are checked as Bedrock checks them.
 * Image blocks (vision input, `{image: {format, source: {bytes}}}`, the bytes base64 in JSON as the SDK
 * sends them) too: an unknown format fails Bedrock's own validation, bytes that are no image of that
 * format fail the model's ("The model returned the following errors: ..."), both as ValidationException.
 *
 * Continuation behaves as Bedrock does with Anthropic models: a last assistant message is a prefill that
 * the model continues (and must not end in whitespace), so partial + continuation is the whole reply.
 */
export type BedrockHandlerContext = AnthropicHandlerContext;

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/[a-z0-9-]+\/bedrock\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;

/** The exception Bedrock names for each status the reply script can ask for. */
const ERRORS: Record<number, { status: number; type: string; message: string }> = {
  400: { status: 400, type: 'ValidationException', message: 'The demo server was told to refuse this request.' },
  401: { status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' },
  403: { status: 403, type: 'AccessDeniedException', message: "You don't have access to the model with the specified model ID." },
  404: { status: 404, type: 'ResourceNotFoundException', message: 'The provided model identifier is invalid.' },
  429: { status: 429, type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' },
  500: { status: 500, type: 'InternalServerException', message: 'The server encountered an internal error.' },
  503: { status: 503, type: 'ServiceUnavailableException', message: 'Bedrock is unable to process your request.' },
};

function sendBedrockError(response: ServerResponse, status: number, type: string, message: string) {
  response.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
  });
  response.end(JSON.stringify({ message }));
}

/** One event-stream frame; real Bedrock pads each payload with `p` so sizes do not leak the text. */
function frame(headers: Record<string, string>, payload: object): Uint8Array {
  const messageHeaders: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) messageHeaders[name] = { type: 'string', value };
  return codec.encode({ headers: messageHeaders, body: fromUtf8(JSON.stringify({ ...payload, p: 'abcdefghijklmnopqrstuvwxyz'.slice(0, 1 + (Date.now() % 26)) })) });
}
const event = (type: string, payload: object) => frame({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, payload);
const exception = (type: string, message: string) => frame({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' }, { message });

const textOf = (content: unknown) => (Array.isArray(content) ? content.map((block: { text?: string }) => (typeof block?.text === 'string' ? block.text : '')).join('') : '');

type ConverseBlock = {
  text?: string;
  toolUse?: { toolUseId?: string; name?: string; input?: unknown };
  toolResult?: { toolUseId?: string; content?: Array<{ text?: string; json?: unknown }>; status?: string };
  reasoningContent?: unknown;
  image?: { format?: unknown; source?: { bytes?: unknown; s3Location?: unknown } };
};
const blocksOf = (content: unknown): ConverseBlock[] => (Array.isArray(content) ? content.filter((block) => block && typeof block === 'object') : []);
/** A Converse block's kind in Anthropic's terms: the model behind Bedrock checks it so. */
const anthropicKind = (block: ConverseBlock) => (block.toolResult ? 'tool_result' : block.toolUse ? 'tool_use' : block.reasoningContent ? 'thinking' : 'text');
/** A toolResult's content as text: text blocks as written, json blocks as JSON. */
const resultText = (result: NonNullable<ConverseBlock['toolResult']>) => (result.content ?? []).map((block) => (typeof block?.text === 'string' ? block.text : block?.json !== undefined ? JSON.stringify(block.json) : '')).join('');

/**
 * What Bedrock checks of tool blocks, in its own words: tool blocks need a toolConfig; each toolUse of an
 * assistant turn is answered by a toolResult in the next message, and each toolResult answers a toolUse
 * of the message just before (the last check is the model's, which Bedrock passes on). Undefined when the
 * conversation is well formed.
 */
function toolBlockError(messages: Array<{ role: string; content: unknown }>, offersTools: boolean): string | undefined {
  const usesTools = messages.some((message) => blocksOf(message.content).some((block) => block.toolUse || block.toolResult));
  if (usesTools && !offersTools) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  for (let index = 0; index < messages.length; index += 1) {
    const blocks = blocksOf(messages[index]!.content);
    const previous = index > 0 && messages[index - 1]!.role === 'assistant' ? blocksOf(messages[index - 1]!.content) : [];
    const called = previous.flatMap((block) => (block.toolUse ? [String(block.toolUse.toolUseId)] : []));
    const results = blocks.flatMap((block, position) => (block.toolResult ? [{ id: String(block.toolResult.toolUseId), position }] : []));
    if (results.length > called.length) return `The number of toolResult blocks at messages.${index}.content exceeds the number of toolUse blocks of previous turn.`;
    const unanswered = called.filter((id) => !results.some((result) => result.id === id));
    const stray = results.find((result) => !called.includes(result.id));
    if (stray) {
      return `The model returned the following errors: messages.${index}.content.${stray.position}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
    }
    if (unanswered.length > 0) return `Expected toolResult blocks at messages.${index}.content for the following Ids: ${unanswered.join(', ')}`;
  }
  return undefined;
}

const FORMAT_TO_MIME = Object.fromEntries(Object.entries(IMAGE_FORMATS).map(([mime, format]) => [format, mime])) as Record<string, string>;

/** One image block as Bedrock reads it, or its ValidationException message (Bedrock's wording) when refused. */
function readImage(image: NonNullable<ConverseBlock['image']>, index: number, position: number): SeenImage | string {
  // Bedrock's own validation counts members from 1; the model's errors (passed on) count from 0.
  const member = `messages.${index + 1}.member.content.${position + 1}.member.image`;
  const mimeType = typeof image.format === 'string' ? FORMAT_TO_MIME[image.format] : undefined;
  if (image.format == null) return `1 validation error detected: Value null at '${member}.format' failed to satisfy constraint: Member must not be null`;
  if (!mimeType) return `1 validation error detected: Value '${String(image.format)}' at '${member}.format' failed to satisfy constraint: Member must satisfy enum value set: [gif, jpeg, png, webp]`;
  if (image.source?.s3Location !== undefined) return 'The model returned the following errors: S3 image sources are not supported by this model.';
  if (image.source?.bytes === undefined) return `1 validation error detected: Value null at '${member}.source' failed to satisfy constraint: Member must not be null`;
  const bytes = decodeBase64(image.source.bytes);
  if (!bytes) return `1 validation error detected: Value at '${member}.source.bytes' failed to satisfy constraint: Member must be valid base64`;
  const where = `messages.${index}.content.${position}.image.source.base64`;
  if (bytes.length === 0) return `The model returned the following errors: ${where}: image cannot be empty`;
  if (sniffImageType(bytes) !== mimeType) return `The model returned the following errors: ${where}.data: Image does not match the provided media type ${mimeType}`;
  return { mimeType, bytes: bytes.length };
}

/** The images of each message, in order; or the first refusal. */
function imagesOf(messages: Array<{ role: string; content: unknown }>): { images: SeenImage[][] } | { error: string } {
  const images: SeenImage[][] = [];
  for (const [index, message] of messages.entries()) {
    const seen: SeenImage[] = [];
    for (const [position, block] of blocksOf(message.content).entries()) {
      if (!block.image) continue;
      const image = readImage(block.image, index, position);
      if (typeof image === 'string') return { error: image };
      seen.push(image);
    }
    images.push(seen);
  }
  return { images };
}

/**
 * Converse messages as the reply script reads them: each toolResult becomes a `tool` message (named after
 * the toolUse it answers), an assistant's toolUse blocks its tool calls.
 */
function chatMessagesOf(messages: Array<{ role: string; content: unknown }>, images: SeenImage[][]): ChatMessage[] {
  const names = new Map<string, string>();
  const history: ChatMessage[] = [];
  for (const [index, message] of messages.entries()) {
    const blocks = blocksOf(message.content);
    const calls = blocks.flatMap((block) => (block.toolUse ? [block.toolUse] : []));
    for (const call of calls) names.set(String(call.toolUseId), String(call.name));
    const results = blocks.flatMap((block) => (block.toolResult ? [block.toolResult] : []));
    for (const result of results) {
      const name = names.get(String(result.toolUseId));
      history.push({ role: 'tool', toolCallId: String(result.toolUseId), ...(name ? { name } : {}), content: resultText(result) });
    }
    const content = textOf(message.content);
    const attached = images[index] ?? [];
    // A user turn that only carries results adds no user message: the results are what the model answers.
    if (results.length > 0 && !content && attached.length === 0) continue;
    history.push({
      role: String(message.role),
      content,
      ...(calls.length > 0 ? { toolCalls: calls.map((call) => ({ id: String(call.toolUseId), name: String(call.name), arguments: JSON.stringify(call.input ?? {}) })) } : {}),
      ...(attached.length > 0 ? { images: attached } : {}),
    });
  }
  return history;
}

/** `[drop=N exception=NAME ...]`: the mid-stream failure is an exception frame instead of a cut connection. */
function dropException(lastUser: string): string | undefined {
  return /\[[^\]]*\bdrop=\d+[^\]]*\bexception=([A-Za-z]+)/.exec(lastUser)?.[1];
}

export async function handleBedrockConverse(request: IncomingMessage, response: ServerResponse, modelId: string, streaming: boolean, context: BedrockHandlerContext) {
  const authorization = String(request.headers.authorization ?? '');
  if (!authorization) return sendBedrockError(response, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  if (!SIGV4.test(authorization) || !/^\d{8}T\d{6}Z$/.test(String(request.headers['x-amz-date'] ?? ''))) {
    return sendBedrockError(response, 403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
  }
  let body: any;
  try {
    body = await context.readJson(request);
  } catch {
    return sendBedrockError(response, 400, 'SerializationException', 'The request body is not valid JSON.');
  }
  if (!Array.isArray(body?.messages) || body.messages.length === 0) return sendBedrockError(response, 400, 'ValidationException', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  const offeredTools: string[] = Array.isArray(body.toolConfig?.tools)
    ? body.toolConfig.tools.map((tool: { toolSpec?: { name?: unknown } }) => tool?.toolSpec?.name).filter((name: unknown): name is string => typeof name === 'string')
    : [];
  const toolError = toolBlockError(body.messages, offeredTools.length > 0);
  if (toolError) return sendBedrockError(response, 400, 'ValidationException', toolError);
  const images = imagesOf(body.messages);
  if ('error' in images) return sendBedrockError(response, 400, 'ValidationException', images.error);
  const history = chatMessagesOf(body.messages, images.images);
  if (body.messages[0]?.role !== 'user') return sendBedrockError(response, 400, 'ValidationException', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  const system = textOf(body.system);
  const prefill = history.at(-1)?.role === 'assistant' ? history.at(-1)!.content : '';
  const thinkingBudget = body.additionalModelRequestFields?.thinking?.type === 'enabled' ? Number(body.additionalModelRequestFields.thinking.budget_tokens) : 0;
  const maxTokens = Number(body.inferenceConfig?.maxTokens ?? 4096);
  // What Anthropic models on Bedrock refuse, so a provider that sent it would find out here, not in production.
  if (prefill && /\s$/.test(prefill)) return sendBedrockError(response, 400, 'ValidationException', 'The model returned the following errors: final assistant content cannot end with trailing whitespace');
  if (thinkingBudget && prefill) return sendBedrockError(response, 400, 'ValidationException', 'The model returned the following errors: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.');
  const thinkingError = thinkingBudget ? thinkingToolLoopError(body.messages, anthropicKind) : undefined;
  if (thinkingError) return sendBedrockError(response, 400, 'ValidationException', `The model returned the following errors: ${thinkingError}`);
  if (thinkingBudget && thinkingBudget >= maxTokens) return sendBedrockError(response, 400, 'ValidationException', 'The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.');

  // The reply is planned from the conversation without the prefill (it is part of the reply).
  const conversation: ChatMessage[] = [...(system ? [{ role: 'system', content: system }] : []), ...(prefill ? history.slice(0, -1) : history)];
  context.record([...(system ? [{ role: 'system', content: system }] : []), ...history]);
  const plan = planReply(decodeURIComponent(modelId), conversation, offeredTools);
  context.countAttempt(plan);
  const status = context.failsNow(plan);
  if (status !== undefined) {
    const error = ERRORS[status] ?? { status, type: status >= 500 ? 'InternalServerException' : 'ValidationException', message: `The demo server was told to answer ${status}.` };
    return sendBedrockError(response, error.status, error.type, error.message);
  }

  let tokens = afterPrefill(plan.tokens, prefill);
  let toolCalls = plan.toolCalls ?? [];
  let stopReason = toolCalls.length > 0 ? 'tool_use' : 'end_turn';
  if (tokens.length > maxTokens - thinkingBudget) {
    tokens = tokens.slice(0, Math.max(0, maxTokens - thinkingBudget));
    toolCalls = [];
    stopReason = 'max_tokens';
  }
  const thinking = thinkingBudget ? replyTokens(`thinking about ${conversation.at(-1)?.content ?? ''}`, 12) : [];
  const inputTokens = conversation.reduce((total, message) => total + Math.ceil(message.content.length / 4) + 4, 0);
  const outputTokens = tokens.length + thinking.length + callTokens(toolCalls);
  const usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  const started = Date.now();

  if (!streaming) {
    response.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    const content = [
      ...(thinking.length ? [{ reasoningContent: { reasoningText: { text: thinking.join(''), signature: 'demo-signature' } } }] : []),
      { text: tokens.join('') },
      ...toolCalls.map((call) => ({ toolUse: { toolUseId: `tooluse_${call.id}`, name: call.name, input: JSON.parse(call.arguments) } })),
    ];
    return response.end(JSON.stringify({ output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: Date.now() - started } }));
  }

  response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
  const send = (bytes: Uint8Array) => response.write(bytes);
  send(event('messageStart', { role: 'assistant' }));
  let index = 0;
  if (thinking.length > 0) {
    for (const piece of thinking) send(event('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { text: piece } } }));
    send(event('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { signature: 'demo-signature' } } }));
    send(event('contentBlockStop', { contentBlockIndex: index }));
    index += 1;
  }
  const textIndex = index;
  const pacing = context.failurePlan(plan);
  const exceptionType = pacing.dropAfter !== undefined ? dropException([...conversation].reverse().find((message) => message.role === 'user')?.content ?? '') : undefined;
  if (exceptionType) {
    // The model fails after N tokens and says so in-band, as Bedrock does (the HTTP status was already 200).
    if ((await paceTokens(response, tokens.slice(0, pacing.dropAfter), { tokensPerSecond: pacing.tokensPerSecond }, (token) => send(event('contentBlockDelta', { contentBlockIndex: textIndex, delta: { text: token } })))) === 'over') return;
    send(exception(exceptionType, `The demo server was told to fail with ${exceptionType}.`));
    return response.end();
  }
  if ((await paceTokens(response, tokens, pacing, (token) => send(event('contentBlockDelta', { contentBlockIndex: textIndex, delta: { text: token } })))) === 'over') return;
  send(event('contentBlockStop', { contentBlockIndex: textIndex }));
  // Each call is its own block, opened by contentBlockStart (a text block needs none); its input arrives
  // as JSON text in pieces.
  for (const [position, call] of toolCalls.entries()) {
    const callIndex = textIndex + 1 + position;
    send(event('contentBlockStart', { contentBlockIndex: callIndex, start: { toolUse: { toolUseId: `tooluse_${call.id}`, name: call.name } } }));
    for (const piece of jsonPieces(call.arguments)) send(event('contentBlockDelta', { contentBlockIndex: callIndex, delta: { toolUse: { input: piece } } }));
    send(event('contentBlockStop', { contentBlockIndex: callIndex }));
  }
  send(event('messageStop', { stopReason }));
  send(event('metadata', { usage, metrics: { latencyMs: Date.now() - started } }));
  response.end();
}
