import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnthropicHandlerContext } from './anthropic-messages.ts';
import { planReply, remainingTokens, replyTokens, type ChatMessage } from './reply-script.ts';
import { paceTokens } from './token-pacer.ts';

/**
 * Gemini's API as `@google/genai` sees it: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`
 * (and `:generateContent`), each SSE event a GenerateContentResponse with `candidates[0].content.parts`
 * (`thought: true` parts when `thinkingConfig.includeThoughts` is set), `finishReason` and
 * `usageMetadata` on the last one, and Google's error JSON (`{error: {code, message, status}}`).
 * A last `model` turn is not a prefix here either (the whole reply comes again, as from Gemini); an explicit
 * instruction to continue is followed, as OpenAI's server does (reply-script.ts).
 */
export type GeminiHandlerContext = AnthropicHandlerContext;

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function sendGeminiError(response: ServerResponse, status: number, message: string) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } }));
}

const textOf = (parts: unknown) => (Array.isArray(parts) ? parts.map((part: { text?: string }) => part?.text ?? '').join('') : '');

export async function handleGeminiGenerate(request: IncomingMessage, response: ServerResponse, model: string, streaming: boolean, context: GeminiHandlerContext) {
  let body: any;
  try {
    body = await context.readJson(request);
  } catch {
    return sendGeminiError(response, 400, 'Invalid JSON payload received.');
  }
  if (!Array.isArray(body?.contents) || body.contents.length === 0) return sendGeminiError(response, 400, '* GenerateContentRequest.contents: contents is not specified');
  const system = textOf(body.systemInstruction?.parts);
  const conversation: ChatMessage[] = [
    ...(system ? [{ role: 'system', content: system }] : []),
    ...body.contents.map((content: { role?: string; parts?: unknown }) => ({ role: content.role === 'model' ? 'assistant' : 'user', content: textOf(content.parts) })),
  ];
  context.record(conversation);
  const plan = planReply(model, conversation);
  context.countAttempt(plan);
  const status = context.failsNow(plan);
  if (status !== undefined) return sendGeminiError(response, status, status === 429 ? 'Resource has been exhausted (e.g. check quota).' : `The demo server was told to answer ${status}.`);

  const maxTokens = Number(body.generationConfig?.maxOutputTokens ?? Infinity);
  let tokens = remainingTokens(plan, conversation);
  let finishReason = 'STOP';
  if (tokens.length > maxTokens) {
    tokens = tokens.slice(0, maxTokens);
    finishReason = 'MAX_TOKENS';
  }
  const thoughts = body.generationConfig?.thinkingConfig?.includeThoughts ? replyTokens(`thinking about ${conversation.at(-1)?.content ?? ''}`, 12) : [];
  const promptTokenCount = conversation.reduce((total, message) => total + Math.ceil(message.content.length / 4) + 4, 0);
  const usageMetadata = { promptTokenCount, candidatesTokenCount: tokens.length, thoughtsTokenCount: thoughts.length, totalTokenCount: promptTokenCount + tokens.length + thoughts.length };
  const chunk = (parts: object[], last = false) => ({
    candidates: [{ content: { role: 'model', parts }, index: 0, ...(last ? { finishReason } : {}) }],
    ...(last ? { usageMetadata } : {}),
    modelVersion: model,
  });

  if (!streaming) {
    response.writeHead(200, { 'content-type': 'application/json' });
    return response.end(JSON.stringify(chunk([...(thoughts.length ? [{ text: thoughts.join(''), thought: true }] : []), { text: tokens.join('') }], true)));
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (data: object) => response.write(`data: ${JSON.stringify(data)}\r\n\r\n`);
  if (thoughts.length > 0) send(chunk([{ text: thoughts.join(''), thought: true }]));
  if ((await paceTokens(response, tokens, context.failurePlan(plan), (token) => send(chunk([{ text: token }])))) === 'over') return;
  send(chunk([{ text: '' }], true));
  response.end();
}
