import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnthropicHandlerContext } from './anthropic-messages.ts';
import { planReply, remainingTokens, replyTokens, type ChatMessage } from './reply-script.ts';
import { paceTokens } from './token-pacer.ts';
import { decodeBase64, isImageMimeType, sniffImageType, type SeenImage } from './vision-input.ts';

/**
 * Gemini's API as `@google/genai` sees it: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`
 * (and `:generateContent`), each SSE event a GenerateContentResponse with `candidates[0].content.parts`
 * (`thought: true` parts when `thinkingConfig.includeThoughts` is set), `finishReason` and
 * `usageMetadata` on the last one, and Google's error JSON (`{error: {code, message, status}}`). Tools come as
 * `tools[].functionDeclarations`; a call goes out whole as a `functionCall` part (`{id, name, args}`, args an
 * object) in the last chunk, whose finishReason is still STOP, as Gemini's is; results come back as
 * `functionResponse` parts of a user turn (`response.output`, or `response.error` for a failure).
 * Images (vision input) come as `inlineData` (or proto-style `inline_data`) parts `{mimeType, data}`: data that is
 * not base64 or not an image, and MIME types the demo model does not read, are refused with Gemini's 400
 * INVALID_ARGUMENT. As Gemini does, an image of another type than declared is accepted.
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

/** What a functionResponse said, as text: its `output` (or `error`), else the whole response object. */
function responseText(response: any): string {
  const value = response?.output ?? response?.error ?? response;
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

/** A refusal, in Gemini's words: the request fails with 400 INVALID_ARGUMENT. */
class InvalidArgument extends Error {}

/**
 * One inline image part as Gemini reads it. `where` is the part's path in Gemini's error words
 * (`contents[0].parts[1]`). The demo model reads images only: another MIME type is refused (Gemini itself
 * also takes PDFs, audio and video, which no provider module here sends).
 */
function readInlineImage(blob: any, where: string): SeenImage {
  const mimeType = blob?.mimeType ?? blob?.mime_type;
  const data = decodeBase64(blob?.data, { urlSafe: true });
  if (!data) throw new InvalidArgument(`Invalid value at '${where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed for "${String(blob?.data ?? '').slice(0, 40)}"`);
  if (typeof mimeType !== 'string' || !mimeType) throw new InvalidArgument(`* GenerateContentRequest.${where}.inline_data.mime_type: mime_type is not specified`);
  if (!isImageMimeType(mimeType)) throw new InvalidArgument(`Unsupported MIME type: ${mimeType}`);
  if (data.length === 0 || !sniffImageType(data)) throw new InvalidArgument('Provided image is not valid.');
  return { mimeType, bytes: data.length };
}

/**
 * One Gemini turn as the reply script's messages: a model turn with its function calls, or a user turn
 * whose functionResponse parts each become a `tool` message (before any text and images it also carries).
 */
function chatMessagesOf(content: { role?: string; parts?: unknown }, index: number): ChatMessage[] {
  const parts: any[] = Array.isArray(content.parts) ? content.parts : [];
  if (content.role === 'model') {
    const calls = parts.filter((part) => part?.functionCall).map((part) => ({ id: String(part.functionCall.id ?? ''), name: String(part.functionCall.name ?? ''), arguments: JSON.stringify(part.functionCall.args ?? {}) }));
    return [{ role: 'assistant', content: textOf(parts), ...(calls.length > 0 ? { toolCalls: calls } : {}) }];
  }
  const images = parts.flatMap((part, position) => {
    const blob = part?.inlineData ?? part?.inline_data;
    return blob ? [readInlineImage(blob, `contents[${index}].parts[${position}]`)] : [];
  });
  const attached = images.length > 0 ? { images } : {};
  const results = parts.filter((part) => part?.functionResponse);
  if (results.length === 0) return [{ role: 'user', content: textOf(parts), ...attached }];
  const text = textOf(parts);
  return [
    ...results.map(({ functionResponse: result }): ChatMessage => ({ role: 'tool', content: responseText(result.response), toolCallId: String(result.id ?? ''), name: String(result.name ?? '') })),
    ...(text || images.length > 0 ? [{ role: 'user', content: text, ...attached }] : []),
  ];
}

/** The signature a call is issued with: opaque to clients, deterministic so a retry gets the same one. */
function signatureOf(callId: string): string {
  return Buffer.from(`demo-thought-signature:${callId}`).toString('base64');
}

export async function handleGeminiGenerate(request: IncomingMessage, response: ServerResponse, model: string, streaming: boolean, context: GeminiHandlerContext) {
  let body: any;
  try {
    body = await context.readJson(request);
  } catch {
    return sendGeminiError(response, 400, 'Invalid JSON payload received.');
  }
  if (!Array.isArray(body?.contents) || body.contents.length === 0) return sendGeminiError(response, 400, '* GenerateContentRequest.contents: contents is not specified');
  // Gemini 3 refuses a conversation whose model turns carry a function call without its thought signature
  // (its real 400 text); 2.x models accept it.
  if (/^gemini-3/.test(model)) {
    const unsigned = body.contents.some((content: any) => content?.role === 'model' && Array.isArray(content.parts) && content.parts.some((part: any) => part?.functionCall && !part.thoughtSignature));
    if (unsigned) return sendGeminiError(response, 400, 'Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:lookup` , position 2. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.');
  }
  const system = textOf(body.systemInstruction?.parts);
  let turns: ChatMessage[];
  try {
    turns = body.contents.flatMap((content: { role?: string; parts?: unknown }, index: number) => chatMessagesOf(content, index));
  } catch (error) {
    if (!(error instanceof InvalidArgument)) throw error;
    return sendGeminiError(response, 400, error.message);
  }
  const conversation: ChatMessage[] = [...(system ? [{ role: 'system', content: system }] : []), ...turns];
  context.record(conversation);
  const offered: string[] = Array.isArray(body.tools) ? body.tools.flatMap((tool: any) => (Array.isArray(tool?.functionDeclarations) ? tool.functionDeclarations.map((declaration: any) => String(declaration?.name)) : [])) : [];
  const plan = planReply(model, conversation, offered);
  context.countAttempt(plan);
  const status = context.failsNow(plan);
  if (status !== undefined) return sendGeminiError(response, status, status === 429 ? 'Resource has been exhausted (e.g. check quota).' : `The demo server was told to answer ${status}.`);

  const maxTokens = Number(body.generationConfig?.maxOutputTokens ?? Infinity);
  let tokens = remainingTokens(plan, conversation);
  let calls = plan.toolCalls ?? [];
  let finishReason = 'STOP';
  if (tokens.length > maxTokens) {
    // A model out of tokens never gets to its calls.
    tokens = tokens.slice(0, maxTokens);
    calls = [];
    finishReason = 'MAX_TOKENS';
  }
  // Thinking models sign their function calls; the signature must come back with the call.
  const callParts = calls.map((call) => ({ functionCall: { name: call.name, args: JSON.parse(call.arguments) as object, id: call.id }, thoughtSignature: signatureOf(call.id) }));
  const thoughts = body.generationConfig?.thinkingConfig?.includeThoughts ? replyTokens(`thinking about ${conversation.at(-1)?.content ?? ''}`, 12) : [];
  const promptTokenCount = conversation.reduce((total, message) => total + Math.ceil(message.content.length / 4) + 4, 0);
  const candidatesTokenCount = tokens.length + calls.reduce((total, call) => total + Math.ceil((call.name.length + call.arguments.length) / 4), 0);
  const usageMetadata = { promptTokenCount, candidatesTokenCount, thoughtsTokenCount: thoughts.length, totalTokenCount: promptTokenCount + candidatesTokenCount + thoughts.length };
  const chunk = (parts: object[], last = false) => ({
    candidates: [{ content: { role: 'model', parts }, index: 0, ...(last ? { finishReason } : {}) }],
    ...(last ? { usageMetadata } : {}),
    modelVersion: model,
  });

  if (!streaming) {
    response.writeHead(200, { 'content-type': 'application/json' });
    return response.end(JSON.stringify(chunk([...(thoughts.length ? [{ text: thoughts.join(''), thought: true }] : []), { text: tokens.join('') }, ...callParts], true)));
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (data: object) => response.write(`data: ${JSON.stringify(data)}\r\n\r\n`);
  if (thoughts.length > 0) send(chunk([{ text: thoughts.join(''), thought: true }]));
  if ((await paceTokens(response, tokens, context.failurePlan(plan), (token) => send(chunk([{ text: token }])))) === 'over') return;
  // Gemini sends function calls whole, here in the last chunk with the finish reason and usage.
  send(chunk(callParts.length > 0 ? callParts : [{ text: '' }], true));
  response.end();
}
