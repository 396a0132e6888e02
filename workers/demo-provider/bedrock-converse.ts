import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import { afterPrefill, type AnthropicHandlerContext } from './anthropic-messages.ts';
import { planReply, replyTokens, type ChatMessage } from './reply-script.ts';
import { paceTokens } from './token-pacer.ts';

/**
 * AWS Bedrock's Converse API as `@aws-sdk/client-bedrock-runtime` sees it: `POST /model/<modelId>/converse-stream`
 * answers `application/vnd.amazon.eventstream` binary frames (messageStart, contentBlockDelta with text or
 * reasoningContent, contentBlockStop, messageStop, metadata with usage), encoded by the SDK's own codec so
 * the prelude and message CRCs are the real ones; `POST /model/<modelId>/converse` answers one JSON document.
 * Requests must be SigV4-signed (the signature's shape is checked, not its value: any key pair signs).
 * Errors are Bedrock's: an HTTP status, `x-amzn-errortype` and `{"message": ...}`; mid-stream, an
 * `exception` frame (`[drop=N exception=throttlingException ...]` sends one instead of cutting the socket).
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
  const history: ChatMessage[] = body.messages.map((message: { role: string; content: unknown }) => ({ role: String(message.role), content: textOf(message.content) }));
  if (history[0]!.role !== 'user') return sendBedrockError(response, 400, 'ValidationException', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  const system = textOf(body.system);
  const prefill = history.at(-1)?.role === 'assistant' ? history.at(-1)!.content : '';
  const thinkingBudget = body.additionalModelRequestFields?.thinking?.type === 'enabled' ? Number(body.additionalModelRequestFields.thinking.budget_tokens) : 0;
  const maxTokens = Number(body.inferenceConfig?.maxTokens ?? 4096);
  // What Anthropic models on Bedrock refuse, so a provider that sent it would find out here, not in production.
  if (prefill && /\s$/.test(prefill)) return sendBedrockError(response, 400, 'ValidationException', 'The model returned the following errors: final assistant content cannot end with trailing whitespace');
  if (thinkingBudget && prefill) return sendBedrockError(response, 400, 'ValidationException', 'The model returned the following errors: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.');
  if (thinkingBudget && thinkingBudget >= maxTokens) return sendBedrockError(response, 400, 'ValidationException', 'The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.');

  // The reply is planned from the conversation without the prefill (it is part of the reply).
  const conversation: ChatMessage[] = [...(system ? [{ role: 'system', content: system }] : []), ...(prefill ? history.slice(0, -1) : history)];
  context.record([...(system ? [{ role: 'system', content: system }] : []), ...history]);
  const plan = planReply(decodeURIComponent(modelId), conversation);
  context.countAttempt(plan);
  const status = context.failsNow(plan);
  if (status !== undefined) {
    const error = ERRORS[status] ?? { status, type: status >= 500 ? 'InternalServerException' : 'ValidationException', message: `The demo server was told to answer ${status}.` };
    return sendBedrockError(response, error.status, error.type, error.message);
  }

  let tokens = afterPrefill(plan.tokens, prefill);
  let stopReason = 'end_turn';
  if (tokens.length > maxTokens - thinkingBudget) {
    tokens = tokens.slice(0, Math.max(0, maxTokens - thinkingBudget));
    stopReason = 'max_tokens';
  }
  const thinking = thinkingBudget ? replyTokens(`thinking about ${conversation.at(-1)?.content ?? ''}`, 12) : [];
  const inputTokens = conversation.reduce((total, message) => total + Math.ceil(message.content.length / 4) + 4, 0);
  const usage = { inputTokens, outputTokens: tokens.length + thinking.length, totalTokens: inputTokens + tokens.length + thinking.length };
  const started = Date.now();

  if (!streaming) {
    response.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    const content = [...(thinking.length ? [{ reasoningContent: { reasoningText: { text: thinking.join(''), signature: 'demo-signature' } } }] : []), { text: tokens.join('') }];
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
  send(event('messageStop', { stopReason }));
  send(event('metadata', { usage, metrics: { latencyMs: Date.now() - started } }));
  response.end();
}
