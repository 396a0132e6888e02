import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAnthropicMessages } from './anthropic-messages.ts';
import { handleBedrockConverse } from './bedrock-converse.ts';
import { handleEmbeddings } from './embeddings.ts';
import { handleGeminiGenerate } from './gemini-generate.ts';
import { planReply, remainingTokens, type ChatMessage, type ReplyPlan } from './reply-script.ts';
import { paceTokens, type PacingOptions } from './token-pacer.ts';
import { decodeBase64, isImageMimeType, sniffImageType, type SeenImage } from './vision-input.ts';

/**
 * A local server that speaks OpenAI's chat-completions wire protocol and (on `/v1/messages`) Anthropic's
 * Messages protocol (anthropic-messages.ts); this comment describes the OpenAI half. It speaks OpenAI's
 * protocol (streaming SSE chunks, usage in the last chunk when `stream_options.include_usage` is set, tool
 * calls as indexed `delta.tool_calls` pieces ending with finish reason `tool_calls`, images as `image_url` parts
 * of user messages checked as OpenAI checks them, OpenAI's error JSON),
 * so the real `openai` SDK talks to it unchanged. It backs the keyless demo endpoint, the tests and the
 * benchmarks.
 */
export interface FakeProviderOptions {
  port?: number;
  host?: string;
  /** When set, requests must carry exactly this bearer key (401 otherwise). */
  apiKey?: string;
}

export interface FakeProvider {
  url: string;
  port: number;
  /** Requests received per directive key (and in total), for tests that count retries. */
  requestCount: (key?: string) => number;
  /** The messages of the most recent chat request, for tests of prompt building. */
  lastMessages: () => ChatMessage[];
  /**
   * The messages of the most recent request whose reply plan carries this directive key (`[drop=… key=…]`,
   * `fail`, `stall`): a retry's prompt, whatever other request (a title) came after it.
   */
  messagesOf: (key: string) => ChatMessage[] | undefined;
  /** The path of the most recent request (which wire protocol was spoken). */
  lastPath: () => string;
  /** The JSON body of the most recent request as it came over the wire, for tests of a wire shape. */
  lastBody: () => unknown;
  close: () => Promise<void>;
}

function sendError(response: ServerResponse, status: number, message: string, type: string, code: string | null, param: string | null = null) {
  response.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) });
  response.end(JSON.stringify({ error: { message, type, param, code } }));
}

async function readJson(request: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > 20 * 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** A request OpenAI refuses with 400, in its error JSON's terms. */
class OpenAIRequestError extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
  }
}

const IMAGE_DETAILS = ['auto', 'low', 'high'];

/**
 * One `image_url` part as OpenAI checks it: an object whose `url` is an http(s) URL (OpenAI fetches it; this
 * server does not) or a base64 data URL of a PNG, JPEG, GIF or WebP image that decodes to one; only user
 * messages may carry images. The refusals use OpenAI's 400 wording.
 */
function imageOf(part: any, where: string, role: string): SeenImage {
  if (role !== 'user') throw new OpenAIRequestError(`Image URLs are only allowed for messages with role 'user', but this message with role '${role}' contains an image URL.`, 'messages', null);
  const imageUrl = part.image_url;
  if (!imageUrl || typeof imageUrl !== 'object' || Array.isArray(imageUrl)) {
    throw new OpenAIRequestError(`Invalid type for '${where}.image_url': expected an object, but got ${Array.isArray(imageUrl) ? 'an array' : `a ${imageUrl === null ? 'null' : typeof imageUrl}`} instead.`, `${where}.image_url`, 'invalid_type');
  }
  if (imageUrl.detail !== undefined && !IMAGE_DETAILS.includes(imageUrl.detail)) {
    throw new OpenAIRequestError(`Invalid value: '${imageUrl.detail}'. Supported values are: 'auto', 'low', and 'high'.`, `${where}.image_url.detail`, 'invalid_value');
  }
  const url = imageUrl.url;
  if (typeof url !== 'string') throw new OpenAIRequestError(`Missing required parameter: '${where}.image_url.url'.`, `${where}.image_url.url`, 'missing_required_parameter');
  if (/^https?:\/\/[^\s/]+/i.test(url)) return { url };
  const data = /^data:([^;,]*)(?:;[^;,=]+=[^;,]*)*;base64,(.*)$/s.exec(url);
  if (!data) throw new OpenAIRequestError(`Invalid '${where}.image_url.url'. Expected a valid URL, but got a value with an invalid format.`, `${where}.image_url.url`, 'invalid_value');
  const mimeType = data[1]!.toLowerCase();
  if (!isImageMimeType(mimeType)) {
    throw new OpenAIRequestError(
      `Invalid '${where}.image_url.url'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got unsupported MIME type '${data[1]}'.`,
      `${where}.image_url.url`,
      'invalid_value',
    );
  }
  const bytes = decodeBase64(data[2]);
  if (!bytes || bytes.length === 0) throw new OpenAIRequestError('Invalid base64 image_url.', `${where}.image_url.url`, 'invalid_image_url');
  // OpenAI reads the image's own format, so a mislabelled image passes; bytes that are no image do not.
  if (!sniffImageType(bytes)) throw new OpenAIRequestError('You uploaded an unsupported image. Please make sure your image is valid.', null, 'invalid_image_format');
  return { mimeType, bytes: bytes.length };
}

/** A message's content as text and images: a string, null (a turn of tool calls), or typed parts. */
function contentOf(message: any, index: number): { content: string; images: SeenImage[] } {
  const role = String(message?.role);
  if (typeof message?.content === 'string') return { content: message.content, images: [] };
  if (message?.content == null) return { content: '', images: [] };
  if (!Array.isArray(message.content)) {
    throw new OpenAIRequestError(`Invalid type for 'messages[${index}].content': expected one of a string or array of objects, but got ${typeof message.content} instead.`, `messages[${index}].content`, 'invalid_type');
  }
  const texts: string[] = [];
  const images: SeenImage[] = [];
  message.content.forEach((part: any, position: number) => {
    const where = `messages[${index}].content[${position}]`;
    if (part?.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else if (part?.type === 'image_url') images.push(imageOf(part, where, role));
    else if (part?.type === 'text') throw new OpenAIRequestError(`Missing required parameter: '${where}.text'.`, `${where}.text`, 'missing_required_parameter');
    // Other part types OpenAI knows are accepted and not read: the demo model only reads text and images.
    else if (!['input_audio', 'refusal', 'audio', 'file'].includes(part?.type)) throw new OpenAIRequestError(`Invalid value: '${part?.type}'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', 'audio', and 'file'.`, `${where}.type`, 'invalid_value');
  });
  return { content: texts.join('\n'), images };
}

/**
 * Chat-completions messages as the reply script reads them. A `tool` message names only the call it
 * answers, so its tool's name is looked up in the assistant turn that made the call. Throws an
 * OpenAIRequestError for content OpenAI refuses (a malformed image part, say).
 */
function chatMessagesOf(wire: any[]): ChatMessage[] {
  const names = new Map<string, string>();
  return wire.map((message: any, index: number): ChatMessage => {
    const { content, images } = contentOf(message, index);
    if (message?.role === 'assistant' && Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
      const toolCalls = message.tool_calls.map((call: any) => ({ id: String(call?.id ?? ''), name: String(call?.function?.name ?? ''), arguments: String(call?.function?.arguments ?? '') }));
      for (const call of toolCalls) names.set(call.id, call.name);
      return { role: 'assistant', content, toolCalls };
    }
    if (message?.role === 'tool') {
      const toolCallId = String(message.tool_call_id ?? '');
      return { role: 'tool', content, toolCallId, ...(names.has(toolCallId) ? { name: names.get(toolCallId) } : {}) };
    }
    return { role: String(message?.role), content, ...(images.length > 0 ? { images } : {}) };
  });
}

/** The names of the functions a request offers (`tools: [{type: 'function', function: {name, ...}}]`). */
function offeredToolNames(tools: unknown): string[] {
  return Array.isArray(tools) ? tools.map((tool: any) => tool?.function?.name).filter((name): name is string => typeof name === 'string') : [];
}

/** A call's JSON arguments in a few pieces, as OpenAI streams them (never split inside a UTF-16 pair). */
function argumentPieces(text: string, pieces = 4): string[] {
  const characters = [...text];
  const size = Math.max(1, Math.ceil(characters.length / pieces));
  const result: string[] = [];
  for (let start = 0; start < characters.length; start += size) result.push(characters.slice(start, start + size).join(''));
  return result;
}

function approximateTokens(messages: ChatMessage[]): number {
  return messages.reduce((total, message) => total + Math.ceil(String(message.content).length / 4) + 4, 0);
}

export function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const attemptsByKey = new Map<string, number>();
  let totalRequests = 0;
  let lastMessages: ChatMessage[] = [];
  const messagesByKey = new Map<string, ChatMessage[]>();
  let lastPath = '';
  let lastBody: unknown;
  /** Every handler reads its body through this, so the wire shape of the last request can be checked. */
  const readBody = async (request: IncomingMessage) => (lastBody = await readJson(request));

  /** Counts a request against its plan's failure rules and says which failure (if any) to play now. */
  function countAttempt(plan: ReplyPlan) {
    for (const rule of [plan.fail, plan.drop, plan.stall]) {
      if (!rule) continue;
      attemptsByKey.set(rule.key, (attemptsByKey.get(rule.key) ?? 0) + 1);
      // Every chat handler records the request's messages before it counts the attempt.
      messagesByKey.set(rule.key, lastMessages);
    }
  }
  function failurePlan(plan: ReplyPlan): PacingOptions {
    return {
      tokensPerSecond: plan.tokensPerSecond,
      dropAfter: plan.drop && attemptsByKey.get(plan.drop.key)! <= plan.drop.times ? plan.drop.afterTokens : undefined,
      stallAfter: plan.stall && attemptsByKey.get(plan.stall.key)! <= plan.stall.times ? plan.stall.afterTokens : undefined,
    };
  }
  function failsNow(plan: ReplyPlan): number | undefined {
    const attempts = plan.fail ? attemptsByKey.get(plan.fail.key)! : 0;
    return plan.fail && attempts > plan.fail.after && attempts <= plan.fail.after + plan.fail.times ? plan.fail.status : undefined;
  }

  async function handleCompletion(request: IncomingMessage, response: ServerResponse) {
    let body: any;
    try {
      body = await readBody(request);
    } catch {
      return sendError(response, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    let messages: ChatMessage[];
    try {
      messages = Array.isArray(body?.messages) ? chatMessagesOf(body.messages) : [];
    } catch (error) {
      if (!(error instanceof OpenAIRequestError)) throw error;
      return sendError(response, 400, error.message, 'invalid_request_error', error.code, error.param);
    }
    if (typeof body?.model !== 'string' || messages.length === 0) {
      return sendError(response, 400, "Missing required parameter: 'messages' or 'model'.", 'invalid_request_error', null);
    }
    lastMessages = messages;
    const plan = planReply(body.model, messages, offeredToolNames(body.tools));
    countAttempt(plan);
    const status = failsNow(plan);
    if (status !== undefined) {
      if (status === 401) return sendError(response, 401, 'Incorrect API key provided: sk-demo.', 'invalid_request_error', 'invalid_api_key');
      if (status === 429) return sendError(response, 429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded');
      if (status === 400) return sendError(response, 400, 'Invalid request: the demo server was told to refuse it.', 'invalid_request_error', null);
      return sendError(response, status, 'The server had an error while processing your request.', 'server_error', null);
    }
    const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? Infinity);
    let tokens = remainingTokens(plan, messages);
    // A model out of tokens never gets to its calls: the turn ends cut off instead.
    let toolCalls = (plan.toolCalls ?? []).map((call) => ({ ...call, id: `call_${call.id}` }));
    let finishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    if (tokens.length > maxTokens) {
      tokens = tokens.slice(0, maxTokens);
      toolCalls = [];
      finishReason = 'length';
    }
    const id = `chatcmpl-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    const created = Math.floor(Date.now() / 1000);
    const completionTokens = tokens.length + toolCalls.reduce((total, call) => total + Math.ceil((call.name.length + call.arguments.length) / 4), 0);
    const usage = { prompt_tokens: approximateTokens(messages), completion_tokens: completionTokens, total_tokens: approximateTokens(messages) + completionTokens };

    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: tokens.join(''),
                refusal: null,
                ...(toolCalls.length > 0 ? { tool_calls: toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })) } : {}),
              },
              logprobs: null,
              finish_reason: finishReason,
            },
          ],
          usage,
        }),
      );
    }

    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    response.write(chunk({ role: 'assistant', content: '', refusal: null }, null));
    const pacing = failurePlan(plan);
    if ((await paceTokens(response, tokens, pacing, (token) => response.write(chunk({ content: token }, null)))) === 'over') return;
    // Each call as OpenAI streams it: its index, id, type and name (with empty arguments) first, then the
    // arguments in pieces under the same index alone; parallel calls one after the other.
    toolCalls.forEach((call, index) => {
      response.write(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
      for (const piece of argumentPieces(call.arguments)) response.write(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
    });
    response.write(chunk({}, finishReason));
    if (body.stream_options?.include_usage) {
      response.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: null, choices: [], usage })}\n\n`);
    }
    response.end('data: [DONE]\n\n');
  }

  const server = http.createServer((request, response) => {
    totalRequests += 1;
    lastPath = (request.url ?? '').split('?')[0] ?? '';
    // Bedrock's SDK signs with SigV4 instead of sending a key: its handler checks the signature itself.
    const bedrock = /^\/model\/([^/]+)\/(converse-stream|converse)$/.exec((request.url ?? '').split('?')[0] ?? '');
    if (request.method === 'POST' && bedrock) {
      handleBedrockConverse(request, response, bedrock[1]!, bedrock[2] === 'converse-stream', { readJson: readBody, record: (messages) => (lastMessages = messages), countAttempt, failsNow, failurePlan }).catch(() =>
        response.destroy(),
      );
      return;
    }
    // OpenAI's SDK sends a bearer token, Anthropic's an x-api-key header, Google's x-goog-api-key.
    const authorization = request.headers.authorization ?? '';
    const key = authorization.startsWith('Bearer ') ? authorization.slice(7) : ((request.headers['x-api-key'] ?? request.headers['x-goog-api-key']) as string | undefined);
    if (!key || (options.apiKey && key !== options.apiKey)) {
      return sendError(response, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ object: 'list', data: ['demo-fast', 'demo-slow'].map((id) => ({ id, object: 'model', created: 0, owned_by: 'durachat' })) }));
    }
    const gemini = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/.exec(path ?? '');
    if (request.method === 'POST' && gemini) {
      handleGeminiGenerate(request, response, decodeURIComponent(gemini[1]!), gemini[2] === 'streamGenerateContent', { readJson: readBody, record: (messages) => (lastMessages = messages), countAttempt, failsNow, failurePlan }).catch(() =>
        response.destroy(),
      );
      return;
    }
    if (request.method === 'POST' && path === '/v1/messages') {
      handleAnthropicMessages(request, response, {
        readJson: readBody,
        record: (messages) => (lastMessages = messages),
        countAttempt,
        failsNow,
        failurePlan,
      }).catch(() => response.destroy());
      return;
    }
    if (request.method === 'POST' && path === '/v1/embeddings') {
      handleEmbeddings(request, response, { readJson: readBody, countAttempt, failsNow, sendError }).catch(() => response.destroy());
      return;
    }
    if (request.method === 'POST' && path === '/v1/chat/completions') {
      handleCompletion(request, response).catch(() => response.destroy());
      return;
    }
    sendError(response, 404, `Unknown request URL: ${request.method} ${path}.`, 'invalid_request_error', 'unknown_url');
  });
  server.keepAliveTimeout = 65_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        port,
        requestCount: (key) => (key === undefined ? totalRequests : (attemptsByKey.get(key) ?? 0)),
        lastMessages: () => lastMessages,
        messagesOf: (key: string) => messagesByKey.get(key),
        lastPath: () => lastPath,
        lastBody: () => lastBody,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
