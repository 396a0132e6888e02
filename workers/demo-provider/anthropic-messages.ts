import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { planReply, replyTokens, type ChatMessage, type ReplyPlan } from './reply-script.ts';
import { paceTokens, type PacingOptions } from './token-pacer.ts';

/**
 * Anthropic's Messages API as its SDK sees it: `POST /v1/messages` with `stream: true` answers the
 * `message_start`, `content_block_start/delta/stop` (text, and thinking with a signature when the request
 * enables thinking), `message_delta` (stop reason, usage) and `message_stop` events, `ping`s, and
 * Anthropic's error JSON (`{type: 'error', error: {type, message}}`, 529 for overloaded).
 *
 * Continuing a reply behaves as Anthropic's API does: a last message from the assistant is a prefix (a
 * "prefill") that the model continues, so partial + continuation is exactly the whole reply.
 */
export interface AnthropicHandlerContext {
  readJson: (request: IncomingMessage) => Promise<any>;
  record: (messages: ChatMessage[]) => void;
  countAttempt: (plan: ReplyPlan) => void;
  failsNow: (plan: ReplyPlan) => number | undefined;
  failurePlan: (plan: ReplyPlan) => PacingOptions;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

function sendAnthropicError(response: ServerResponse, status: number, message: string) {
  response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomUUID().slice(0, 12)}`, ...(status === 429 ? { 'retry-after': '1' } : {}) });
  response.end(JSON.stringify({ type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } }));
}

/** Anthropic content (a string or blocks) as plain text. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((block: { type?: string; text?: string }) => (block?.type === 'text' ? (block.text ?? '') : '')).join('');
  return '';
}

/** The tokens after an assistant prefill (Anthropic continues it), or the whole reply without one. */
export function afterPrefill(tokens: string[], prefill: string): string[] {
  if (!prefill) return tokens;
  let consumed = '';
  for (let index = 0; index < tokens.length; index += 1) {
    if (consumed === prefill) return tokens.slice(index);
    consumed += tokens[index];
    if (consumed.length > prefill.length && consumed.startsWith(prefill)) return [consumed.slice(prefill.length), ...tokens.slice(index + 1)];
  }
  return consumed === prefill ? [] : tokens;
}

export async function handleAnthropicMessages(request: IncomingMessage, response: ServerResponse, context: AnthropicHandlerContext) {
  let body: any;
  try {
    body = await context.readJson(request);
  } catch {
    return sendAnthropicError(response, 400, 'The request body is not valid JSON.');
  }
  if (typeof body?.model !== 'string' || !Array.isArray(body?.messages) || body.messages.length === 0 || typeof body?.max_tokens !== 'number') {
    return sendAnthropicError(response, 400, 'model, messages and max_tokens are required.');
  }
  const history: ChatMessage[] = body.messages.map((message: { role: string; content: unknown }) => ({ role: String(message.role), content: textOf(message.content) }));
  const system = textOf(body.system);
  const prefill = history.at(-1)?.role === 'assistant' ? history.at(-1)!.content : '';
  // The reply is planned from the conversation without the prefill (it is part of the reply).
  const conversation: ChatMessage[] = [...(system ? [{ role: 'system', content: system }] : []), ...(prefill ? history.slice(0, -1) : history)];
  context.record([...(system ? [{ role: 'system', content: system }] : []), ...history]);
  const plan = planReply(body.model, conversation);
  context.countAttempt(plan);
  const status = context.failsNow(plan);
  if (status !== undefined) return sendAnthropicError(response, status, status === 529 ? 'Overloaded' : `The demo server was told to answer ${status}.`);

  let tokens = afterPrefill(plan.tokens, prefill);
  let stopReason = 'end_turn';
  if (tokens.length > body.max_tokens) {
    tokens = tokens.slice(0, body.max_tokens);
    stopReason = 'max_tokens';
  }
  const thinking = body.thinking?.type === 'enabled' && !prefill ? replyTokens(`thinking about ${conversation.at(-1)?.content ?? ''}`, 12) : [];
  const inputTokens = conversation.reduce((total, message) => total + Math.ceil(message.content.length / 4) + 4, 0);
  const id = `msg_${randomUUID().replace(/-/g, '').slice(0, 24)}`;

  if (!body.stream) {
    response.writeHead(200, { 'content-type': 'application/json' });
    return response.end(
      JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [...(thinking.length ? [{ type: 'thinking', thinking: thinking.join(''), signature: 'demo-signature' }] : []), { type: 'text', text: tokens.join('') }],
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: tokens.length + thinking.length },
      }),
    );
  }

  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (event: string, data: object) => response.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  send('message_start', { message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } } });
  send('ping', {});
  let index = 0;
  if (thinking.length > 0) {
    send('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } });
    for (const piece of thinking) send('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } });
    send('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'demo-signature' } });
    send('content_block_stop', { index });
    index += 1;
  }
  send('content_block_start', { index, content_block: { type: 'text', text: '' } });
  const textIndex = index;
  if ((await paceTokens(response, tokens, context.failurePlan(plan), (token) => send('content_block_delta', { index: textIndex, delta: { type: 'text_delta', text: token } }))) === 'over') return;
  send('content_block_stop', { index: textIndex });
  send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: tokens.length + thinking.length } });
  send('message_stop', {});
  response.end();
}
