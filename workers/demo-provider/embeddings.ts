import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReplyPlan } from './reply-script.ts';

/**
 * `POST /v1/embeddings` as OpenAI answers it, with vectors computed from the text alone: each word and
 * each of its character trigrams is hashed to one of `dimensions` buckets (with a hashed sign), and the
 * sum is L2-normalised. Texts sharing words point the same way, so cosine similarity means something
 * and retrieval in tests and in the keyless demo finds the passage that talks about the question.
 *
 * Models: `demo-embed` (and any `text-embedding-*`, so a test can stand in for OpenAI), 256 dimensions
 * unless the request asks for `dimensions`. Failure directives as in chat (reply-script.ts): an input
 * holding `[fail=429 times=2 key=K]` makes the first 2 requests carrying key K answer 429.
 */
export const DEMO_EMBEDDING_DIMENSIONS = 256;
const MAX_INPUTS = 2048;

function hash(text: string, seed = 2166136261): number {
  let value = seed;
  for (let index = 0; index < text.length; index += 1) value = Math.imul(value ^ text.charCodeAt(index), 16777619);
  return value >>> 0;
}

const FAILURE_DIRECTIVE = /\[(?:fail|drop|stall)=[^\]]*\]/g;

/** The deterministic vector for a text; failure directives are not part of what the text says. */
export function demoEmbedding(text: string, dimensions = DEMO_EMBEDDING_DIMENSIONS): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const add = (feature: string, weight: number) => {
    const bucket = hash(feature) % dimensions;
    vector[bucket]! += hash(feature, 0x9e3779b9) & 1 ? weight : -weight;
  };
  const words = text.replace(FAILURE_DIRECTIVE, ' ').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    add(`w:${word}`, 1);
    const padded = `^${word}$`;
    for (let start = 0; start + 3 <= padded.length; start += 1) add(`t:${padded.slice(start, start + 3)}`, 0.3);
  }
  const norm = Math.sqrt(vector.reduce((total, value) => total + value * value, 0));
  // A text with no words still gets a unit vector: a zero vector has no cosine with anything.
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((value) => value / norm);
}

/** The first fail directive among the inputs, as the chat servers' failure plans carry it. */
function failurePlan(inputs: string[]): ReplyPlan | undefined {
  for (const input of inputs) {
    const group = /\[fail=(\d+)([^\]]*)\]/.exec(input);
    if (!group) continue;
    const fields = Object.fromEntries(group[2]!.trim().split(/\s+/).filter(Boolean).map((part) => part.split('=') as [string, string]));
    return { tokens: [], tokensPerSecond: 0, fail: { status: Number(group[1]), times: Number(fields.times ?? 1), key: fields.key ?? input, after: Number(fields.after ?? 0) } };
  }
  return undefined;
}

export interface EmbeddingsHelpers {
  readJson: (request: IncomingMessage) => Promise<any>;
  countAttempt: (plan: ReplyPlan) => void;
  failsNow: (plan: ReplyPlan) => number | undefined;
  sendError: (response: ServerResponse, status: number, message: string, type: string, code: string | null) => void;
}

function float32Base64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

export async function handleEmbeddings(request: IncomingMessage, response: ServerResponse, helpers: EmbeddingsHelpers): Promise<void> {
  const { sendError } = helpers;
  let body: any;
  try {
    body = await helpers.readJson(request);
  } catch {
    return sendError(response, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
  }
  const model = body?.model;
  if (typeof model !== 'string') return sendError(response, 400, "Missing required parameter: 'model'.", 'invalid_request_error', null);
  if (!/^(demo-embed|text-embedding-)/.test(model)) {
    return sendError(response, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
  }
  const inputs: unknown[] = typeof body.input === 'string' ? [body.input] : Array.isArray(body.input) ? body.input : [];
  if (inputs.length === 0 || inputs.length > MAX_INPUTS || inputs.some((input) => typeof input !== 'string' || input.length === 0)) {
    return sendError(response, 400, `'$.input' is invalid: give a non-empty string or an array of 1 to ${MAX_INPUTS} non-empty strings.`, 'invalid_request_error', null);
  }
  const texts = inputs as string[];
  const dimensions = body.dimensions === undefined ? DEMO_EMBEDDING_DIMENSIONS : Number(body.dimensions);
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 4096) {
    return sendError(response, 400, 'Invalid value for dimensions: must be an integer between 1 and 4096.', 'invalid_request_error', null);
  }
  const plan = failurePlan(texts);
  if (plan) {
    helpers.countAttempt(plan);
    const status = helpers.failsNow(plan);
    if (status === 429) return sendError(response, 429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded');
    if (status === 401) return sendError(response, 401, 'Incorrect API key provided: sk-demo.', 'invalid_request_error', 'invalid_api_key');
    if (status === 400) return sendError(response, 400, 'Invalid request: the demo server was told to refuse it.', 'invalid_request_error', null);
    if (status !== undefined) return sendError(response, status, 'The server had an error while processing your request.', 'server_error', null);
  }
  const base64 = body.encoding_format === 'base64';
  const promptTokens = texts.reduce((total, text) => total + Math.ceil(text.length / 4), 0);
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      object: 'list',
      data: texts.map((text, index) => {
        const vector = demoEmbedding(text, dimensions);
        return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
      }),
      model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    }),
  );
}
