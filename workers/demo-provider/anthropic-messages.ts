import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { planReply, replyTokens, type ChatMessage, type PlannedToolCall, type ReplyPlan } from './reply-script.ts';
import { paceTokens, type PacingOptions } from './token-pacer.ts';
import { decodeBase64, isImageMimeType, sniffImageType, type SeenImage } from './vision-input.ts';

/**
 * Anthropic's Messages API as its SDK sees it: `POST /v1/messages` with `stream: true` answers the
 * `message_start`, `content_block_start/delta/stop` (text, and thinking with a signature when the request
 * enables thinking), `message_delta` (stop reason, usage) and `message_stop` events, `ping`s, and
 * Anthropic's error JSON (`{type: 'error', error: {type, message}}`, 529 for overloaded).
 *
 * Tools as Anthropic does them: the `tools` offered are what the reply script may call; a planned call
 * streams as a `tool_use` block (id `toolu_...`, input as `input_json_delta` pieces) after the text, and
 * the message stops with `tool_use`. Calls and results sent back (`tool_use` blocks in an assistant turn,
 * `tool_result` blocks opening the next user turn) are checked as Anthropic checks them, with its 400s.
 * So are `image` blocks (vision input): a base64 source must name a supported media_type, decode, be at most
 * 5 MB and really be an image of that type; a `url` source is taken as given (this server fetches nothing).
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

type AnthropicBlock = { type?: string; id?: string; name?: string; input?: unknown; tool_use_id?: string; content?: unknown; source?: any };
const blocksOf = (content: unknown): AnthropicBlock[] => (Array.isArray(content) ? content.filter((block) => block && typeof block === 'object') : []);

/**
 * What Anthropic checks of tool blocks before a model sees them, in its own words: each tool_use in an
 * assistant turn is answered by a tool_result at the start of the next message, and each tool_result
 * answers a tool_use of the message just before. Undefined when the conversation is well formed.
 */
function toolBlockError(messages: Array<{ role: string; content: unknown }>): string | undefined {
  for (let index = 0; index < messages.length; index += 1) {
    const blocks = blocksOf(messages[index]!.content);
    const previous = index > 0 && messages[index - 1]!.role === 'assistant' ? blocksOf(messages[index - 1]!.content) : [];
    const called = previous.filter((block) => block.type === 'tool_use').map((block) => String(block.id));
    for (const [position, block] of blocks.entries()) {
      if (block.type === 'tool_result' && !called.includes(String(block.tool_use_id))) {
        return `messages.${index}.content.${position}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
    }
    if (called.length === 0) continue;
    const answered = new Set(blocks.filter((block) => block.type === 'tool_result').map((block) => String(block.tool_use_id)));
    const unanswered = called.filter((id) => !answered.has(id));
    if (unanswered.length > 0) {
      return `messages.${index - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
    if (blocks.slice(0, called.length).some((block) => block.type !== 'tool_result')) {
      return `messages.${index}: Did not find ${called.length} \`tool_result\` block(s) at the beginning of this message. Messages following \`tool_use\` blocks must begin with a matching number of \`tool_result\` blocks.`;
    }
  }
  return undefined;
}

/** Anthropic's per-image limit for base64 sources. */
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

/** One image block as Anthropic reads it, or its 400 message (Anthropic's wording) when it refuses it. */
function readImage(source: any, where: string): SeenImage | string {
  if (!source || typeof source !== 'object') return `${where}.source: Field required`;
  if (source.type === 'url') return typeof source.url === 'string' ? { url: source.url } : `${where}.source.url.url: Field required`;
  if (source.type !== 'base64') return `${where}.source: Input tag '${source.type}' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'`;
  if (!isImageMimeType(source.media_type)) return `${where}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
  const bytes = decodeBase64(source.data);
  if (!bytes) return `${where}.source.base64.data: Invalid base64 data`;
  if (bytes.length === 0) return `${where}.source.base64: image cannot be empty`;
  if (bytes.length > MAX_IMAGE_BYTES) return `${where}.source.base64: image exceeds 5 MB maximum: ${bytes.length} bytes > ${MAX_IMAGE_BYTES} bytes`;
  const actual = sniffImageType(bytes);
  if (!actual) return `${where}.source.base64.data: Could not process image`;
  if (actual !== source.media_type) return `${where}.source.base64: The image was specified using the ${source.media_type} media type, but the image appears to be a ${actual} image`;
  return { mimeType: source.media_type, bytes: bytes.length };
}

/** The images of each message, in order; or the first refusal, as Anthropic words it. */
function imagesOf(messages: Array<{ role: string; content: unknown }>): { images: SeenImage[][] } | { error: string } {
  const images: SeenImage[][] = [];
  for (const [index, message] of messages.entries()) {
    const seen: SeenImage[] = [];
    for (const [position, block] of blocksOf(message.content).entries()) {
      if (block.type !== 'image') continue;
      const image = readImage(block.source, `messages.${index}.content.${position}.image`);
      if (typeof image === 'string') return { error: image };
      seen.push(image);
    }
    images.push(seen);
  }
  return { images };
}

/**
 * With thinking on, a request that sends tool results back must send the calling turn's thinking block
 * with it (signed, as the model wrote it): a calling turn that does not open with one is refused.
 */
export function thinkingToolLoopError<Block>(
  messages: Array<{ role: string; content: unknown }>,
  /** A block's Anthropic type (Bedrock's server names its own blocks so). */
  kindOf: (block: Block) => string = (block) => String((block as AnthropicBlock).type),
): string | undefined {
  const blocks = (content: unknown): Block[] => (Array.isArray(content) ? content.filter((block) => block && typeof block === 'object') : []);
  const last = messages.length - 1;
  const firstOfLast = blocks(messages[last]?.content)[0];
  if (last < 1 || messages[last - 1]!.role !== 'assistant' || !firstOfLast || kindOf(firstOfLast) !== 'tool_result') return undefined;
  const firstOfCalling = blocks(messages[last - 1]!.content)[0];
  const opening = firstOfCalling ? kindOf(firstOfCalling) : 'text';
  if (opening === 'thinking' || opening === 'redacted_thinking') return undefined;
  return `messages.${last - 1}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${opening}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). To avoid this requirement, disable \`thinking\`.`;
}

/**
 * Anthropic messages as the reply script reads them: each tool_result becomes a `tool` message (named
 * after the tool_use it answers), an assistant's tool_use blocks its tool calls.
 */
function chatMessagesOf(messages: Array<{ role: string; content: unknown }>, images: SeenImage[][]): ChatMessage[] {
  const names = new Map<string, string>();
  const history: ChatMessage[] = [];
  for (const [index, message] of messages.entries()) {
    const role = String(message.role);
    const blocks = blocksOf(message.content);
    const calls = blocks.filter((block) => block.type === 'tool_use');
    for (const call of calls) names.set(String(call.id), String(call.name));
    const results = blocks.filter((block) => block.type === 'tool_result');
    for (const result of results) {
      const name = names.get(String(result.tool_use_id));
      history.push({ role: 'tool', toolCallId: String(result.tool_use_id), ...(name ? { name } : {}), content: textOf(result.content) });
    }
    const content = textOf(message.content);
    const attached = images[index] ?? [];
    // A user turn that only carries results adds no user message: the results are what the model answers.
    if (results.length > 0 && !content && attached.length === 0) continue;
    history.push({
      role,
      content,
      ...(calls.length > 0 ? { toolCalls: calls.map((call) => ({ id: String(call.id), name: String(call.name), arguments: JSON.stringify(call.input ?? {}) })) } : {}),
      ...(attached.length > 0 ? { images: attached } : {}),
    });
  }
  return history;
}

/** A call's JSON arguments in a few pieces, as models stream them; split by code point, never inside one. */
export function jsonPieces(json: string, count = 3): string[] {
  const characters = Array.from(json);
  const size = Math.max(1, Math.ceil(characters.length / count));
  const pieces: string[] = [];
  for (let start = 0; start < characters.length; start += size) pieces.push(characters.slice(start, start + size).join(''));
  return pieces;
}

/** What a planned call costs in output tokens, roughly (about four characters a token). */
export const callTokens = (calls: PlannedToolCall[] = []) => calls.reduce((total, call) => total + Math.ceil((call.name.length + call.arguments.length) / 4), 0);

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
  const refusal = toolBlockError(body.messages) ?? (body.thinking?.type === 'enabled' ? thinkingToolLoopError(body.messages) : undefined);
  if (refusal) return sendAnthropicError(response, 400, refusal);
  const images = imagesOf(body.messages);
  if ('error' in images) return sendAnthropicError(response, 400, images.error);
  const history = chatMessagesOf(body.messages, images.images);
  const offeredTools: string[] = Array.isArray(body.tools) ? body.tools.map((tool: { name?: unknown }) => tool?.name).filter((name: unknown): name is string => typeof name === 'string') : [];
  const system = textOf(body.system);
  const prefill = history.at(-1)?.role === 'assistant' ? history.at(-1)!.content : '';
  // The reply is planned from the conversation without the prefill (it is part of the reply).
  const conversation: ChatMessage[] = [...(system ? [{ role: 'system', content: system }] : []), ...(prefill ? history.slice(0, -1) : history)];
  context.record([...(system ? [{ role: 'system', content: system }] : []), ...history]);
  const plan = planReply(body.model, conversation, offeredTools);
  context.countAttempt(plan);
  const status = context.failsNow(plan);
  if (status !== undefined) return sendAnthropicError(response, status, status === 529 ? 'Overloaded' : `The demo server was told to answer ${status}.`);

  let tokens = afterPrefill(plan.tokens, prefill);
  let toolCalls = plan.toolCalls ?? [];
  let stopReason = toolCalls.length > 0 ? 'tool_use' : 'end_turn';
  if (tokens.length > body.max_tokens) {
    tokens = tokens.slice(0, body.max_tokens);
    toolCalls = [];
    stopReason = 'max_tokens';
  }
  const thinking = body.thinking?.type === 'enabled' && !prefill ? replyTokens(`thinking about ${conversation.at(-1)?.content ?? ''}`, 12) : [];
  const inputTokens = conversation.reduce((total, message) => total + Math.ceil(message.content.length / 4) + 4, 0);
  const outputTokens = tokens.length + thinking.length + callTokens(toolCalls);
  const id = `msg_${randomUUID().replace(/-/g, '').slice(0, 24)}`;

  if (!body.stream) {
    response.writeHead(200, { 'content-type': 'application/json' });
    return response.end(
      JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [
          ...(thinking.length ? [{ type: 'thinking', thinking: thinking.join(''), signature: 'demo-signature' }] : []),
          { type: 'text', text: tokens.join('') },
          ...toolCalls.map((call) => ({ type: 'tool_use', id: `toolu_${call.id}`, name: call.name, input: JSON.parse(call.arguments) })),
        ],
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: outputTokens },
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
  // Each call is its own tool_use block: its input starts empty and arrives as partial JSON.
  for (const [position, call] of toolCalls.entries()) {
    const callIndex = textIndex + 1 + position;
    send('content_block_start', { index: callIndex, content_block: { type: 'tool_use', id: `toolu_${call.id}`, name: call.name, input: {} } });
    for (const piece of jsonPieces(call.arguments)) send('content_block_delta', { index: callIndex, delta: { type: 'input_json_delta', partial_json: piece } });
    send('content_block_stop', { index: callIndex });
  }
  send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } });
  send('message_stop', {});
  response.end();
}
