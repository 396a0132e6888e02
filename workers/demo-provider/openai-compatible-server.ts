import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { planReply, remainingTokens, type ChatMessage } from './reply-script.ts';

/**
 * A local server that speaks OpenAI's chat-completions wire protocol (streaming SSE chunks, usage in the
 * last chunk when `stream_options.include_usage` is set, OpenAI's error JSON), so the real `openai` SDK
 * talks to it unchanged. It backs the keyless demo endpoint, the tests and the benchmarks.
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
  close: () => Promise<void>;
}

function sendError(response: ServerResponse, status: number, message: string, type: string, code: string | null) {
  response.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) });
  response.end(JSON.stringify({ error: { message, type, param: null, code } }));
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

function approximateTokens(messages: ChatMessage[]): number {
  return messages.reduce((total, message) => total + Math.ceil(String(message.content).length / 4) + 4, 0);
}

export function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const attemptsByKey = new Map<string, number>();
  let totalRequests = 0;
  let lastMessages: ChatMessage[] = [];

  async function handleCompletion(request: IncomingMessage, response: ServerResponse) {
    let body: any;
    try {
      body = await readJson(request);
    } catch {
      return sendError(response, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    const messages: ChatMessage[] = Array.isArray(body?.messages)
      ? body.messages.map((message: any) => ({ role: String(message.role), content: typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '') }))
      : [];
    if (typeof body?.model !== 'string' || messages.length === 0) {
      return sendError(response, 400, "Missing required parameter: 'messages' or 'model'.", 'invalid_request_error', null);
    }
    lastMessages = messages;
    const plan = planReply(body.model, messages);
    for (const rule of [plan.fail, plan.drop, plan.stall]) {
      if (rule) attemptsByKey.set(rule.key, (attemptsByKey.get(rule.key) ?? 0) + 1);
    }
    if (plan.fail && attemptsByKey.get(plan.fail.key)! > plan.fail.after && attemptsByKey.get(plan.fail.key)! <= plan.fail.after + plan.fail.times) {
      const status = plan.fail.status;
      if (status === 401) return sendError(response, 401, 'Incorrect API key provided: sk-demo.', 'invalid_request_error', 'invalid_api_key');
      if (status === 429) return sendError(response, 429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded');
      if (status === 400) return sendError(response, 400, 'Invalid request: the demo server was told to refuse it.', 'invalid_request_error', null);
      return sendError(response, status, 'The server had an error while processing your request.', 'server_error', null);
    }
    const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? Infinity);
    let tokens = remainingTokens(plan, messages);
    let finishReason = 'stop';
    if (tokens.length > maxTokens) {
      tokens = tokens.slice(0, maxTokens);
      finishReason = 'length';
    }
    const id = `chatcmpl-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: approximateTokens(messages), completion_tokens: tokens.length, total_tokens: approximateTokens(messages) + tokens.length };

    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: tokens.join(''), refusal: null }, logprobs: null, finish_reason: finishReason }],
          usage,
        }),
      );
    }

    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let closed = false;
    response.on('close', () => {
      closed = true;
    });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    response.write(chunk({ role: 'assistant', content: '', refusal: null }, null));
    const dropAfter = plan.drop && attemptsByKey.get(plan.drop.key)! <= plan.drop.times ? plan.drop.afterTokens : undefined;
    const stallAfter = plan.stall && attemptsByKey.get(plan.stall.key)! <= plan.stall.times ? plan.stall.afterTokens : undefined;
    const delayMs = plan.tokensPerSecond > 0 ? 1000 / plan.tokensPerSecond : 0;
    const started = Date.now();
    for (let index = 0; index < tokens.length; index += 1) {
      if (closed) return;
      if (dropAfter !== undefined && index >= dropAfter) {
        // A mid-stream failure as the client sees it: what was sent arrives, then the socket closes
        // without [DONE]. Flush first, or the client would see no response at all.
        await new Promise((resolve) => response.write('', resolve));
        await new Promise((resolve) => setTimeout(resolve, 20));
        response.socket?.destroy();
        return;
      }
      if (stallAfter !== undefined && index >= stallAfter) {
        // A provider that hangs mid-stream: what was sent arrives, then nothing, until the client gives up.
        while (!closed) await new Promise((resolve) => setTimeout(resolve, 100));
        return;
      }
      if (delayMs > 0) {
        const due = started + (index + 1) * delayMs;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      if (closed) return;
      response.write(chunk({ content: tokens[index] }, null));
    }
    response.write(chunk({}, finishReason));
    if (body.stream_options?.include_usage) {
      response.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: null, choices: [], usage })}\n\n`);
    }
    response.end('data: [DONE]\n\n');
  }

  const server = http.createServer((request, response) => {
    totalRequests += 1;
    const authorization = request.headers.authorization ?? '';
    if (!authorization.startsWith('Bearer ') || (options.apiKey && authorization !== `Bearer ${options.apiKey}`)) {
      return sendError(response, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ object: 'list', data: ['demo-fast', 'demo-slow'].map((id) => ({ id, object: 'model', created: 0, owned_by: 'durachat' })) }));
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
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
