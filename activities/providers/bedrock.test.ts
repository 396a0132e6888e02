/**
 * The Bedrock provider module: the real `@aws-sdk/client-bedrock-runtime` (SigV4-signed ConverseStream,
 * binary event stream) against the local server that speaks Bedrock's protocol (workers/demo-provider/bedrock-converse.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, test } from 'vitest';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createBedrockProvider } from './bedrock.ts';
import { withIdleTimeout } from './idle-timeout.ts';
import type { ProviderChunk } from './provider.ts';
import { ProviderStalledError, ProviderTransientError } from './provider-errors.ts';

let fake: FakeProvider;
let origin: string;
let endpoint: ResolvedEndpoint;
const provider = createBedrockProvider();

beforeAll(async () => {
  fake = await startFakeProvider();
  origin = fake.url.replace(/\/v1$/, '');
  endpoint = {
    name: 'bedrock',
    type: 'bedrock',
    baseURL: origin,
    apiKey: '',
    aws: { region: 'us-east-1', credentials: { accessKeyId: 'AKIADEMODEMODEMO', secretAccessKey: 'demo-secret' } },
    models: ['demo-fast'],
    titleConvo: true,
    maxContextTokens: 200_000,
    streamIdleTimeoutMs: 60_000,
    order: 0,
  };
});
afterAll(async () => {
  await fake.close();
});

async function collect(text: string, options: { prefill?: string; thinking?: number; model?: string } = {}): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  const messages = [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: text }, ...(options.prefill ? [{ role: 'assistant' as const, content: options.prefill }] : [])];
  for await (const chunk of provider.stream({ endpoint: { ...endpoint, thinkingBudgetTokens: options.thinking }, model: options.model ?? 'demo-fast', messages, parameters: { temperature: 0.5 }, maxOutputTokens: 500, signal: new AbortController().signal })) chunks.push(chunk);
  return chunks;
}
const textOf = (chunks: ProviderChunk[]) => chunks.map((chunk) => (chunk.type === 'text' ? chunk.text : '')).join('');
const isTransient = (error: unknown) => error instanceof ProviderTransientError;
const isFinal = (pattern: RegExp) => (error: unknown) => error instanceof ApplicationFailure && error.nonRetryable === true && error.type === 'ProviderRequestRejected' && pattern.test(error.message);

test('streams text, usage and the finish reason from event-stream frames; the system text travels apart', async () => {
  const chunks = await collect('hello bedrock [tokens=25]');
  assert.equal(textOf(chunks).split(' ').length, 25);
  const usage = chunks.find((chunk) => chunk.type === 'usage') as Extract<ProviderChunk, { type: 'usage' }>;
  assert.equal(usage.outputTokens, 25);
  assert.ok(usage.inputTokens > 0);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  assert.deepEqual(fake.lastMessages()[0], { role: 'system', content: 'be brief' });
});

test('a model id with Bedrock punctuation travels in the path', async () => {
  const chunks = await collect('hello [tokens=3]', { model: 'anthropic.claude-sonnet-4-5-20250929-v1:0' });
  assert.equal(textOf(chunks).split(' ').length, 3);
});

test('reasoning content streams as reasoning before the text when a thinking budget is set', async () => {
  const chunks = await collect('think first [tokens=10]', { thinking: 2048 });
  const reasoning = chunks.filter((chunk) => chunk.type === 'reasoning');
  assert.ok(reasoning.length > 0);
  assert.ok(chunks.findIndex((chunk) => chunk.type === 'reasoning') < chunks.findIndex((chunk) => chunk.type === 'text'));
  assert.equal(textOf(chunks).split(' ').length, 10);
});

test('max tokens reached finishes with length', async () => {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream({ endpoint, model: 'demo-fast', messages: [{ role: 'user', content: 'long [tokens=50]' }], parameters: {}, maxOutputTokens: 7, signal: new AbortController().signal })) chunks.push(chunk);
  assert.equal(textOf(chunks).split(' ').length, 7);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'length' });
});

test('a prefill is continued: partial + continuation is exactly the whole reply (thinking left out)', async () => {
  const whole = textOf(await collect('continue me [tokens=30]'));
  const partial = whole.slice(0, 53);
  assert.equal(partial + textOf(await collect('continue me [tokens=30]', { prefill: partial, thinking: 2048 })), whole);
  assert.equal(fake.lastMessages().at(-1)!.role, 'assistant');
  // A partial ending in whitespace (which Bedrock refuses in a prefill) still joins seamlessly.
  const cut = whole.indexOf(' ', 40) + 1;
  assert.equal(whole.slice(0, cut) + textOf(await collect('continue me [tokens=30]', { prefill: whole.slice(0, cut) })), whole);
  assert.equal(provider.continuation, 'prefill');
});

test('429, 503, 500, a dropped stream and mid-stream exception frames are retryable', async () => {
  for (const status of [429, 503, 500]) {
    await assert.rejects(collect(`fail [fail=${status} times=1 key=${randomUUID()}]`), (error) => isTransient(error) && new RegExp(String(status)).test((error as Error).message));
  }
  await assert.rejects(collect(`drop [tokens=20] [drop=5 times=1 key=${randomUUID()}]`), isTransient);
  for (const exception of ['throttlingException', 'modelStreamErrorException', 'serviceUnavailableException']) {
    await assert.rejects(collect(`drop [tokens=20] [drop=5 exception=${exception} times=1 key=${randomUUID()}]`), isTransient);
  }
  // The same key succeeds once its failures are spent, as a Temporal retry would.
  const key = randomUUID();
  await assert.rejects(collect(`again [tokens=8] [fail=429 times=1 key=${key}]`), isTransient);
  assert.equal(textOf(await collect(`again [tokens=8] [fail=429 times=1 key=${key}]`)).split(' ').length, 8);
});

test("400, 403 and a mid-stream validationException are final, with Bedrock's words", async () => {
  await assert.rejects(collect(`fail [fail=400 times=1 key=${randomUUID()}]`), isFinal(/refused the request \(400\): The demo server was told to refuse/));
  await assert.rejects(collect(`fail [fail=403 times=1 key=${randomUUID()}]`), isFinal(/refused the request \(403\): You don't have access/));
  await assert.rejects(collect(`fail [fail=401 times=1 key=${randomUUID()}]`), isFinal(/security token included in the request is invalid/));
  await assert.rejects(collect(`drop [tokens=20] [drop=5 exception=validationException times=1 key=${randomUUID()}]`), isFinal(/told to fail with validationException/));
});

test('a stalled stream is aborted under the idle timeout (the SDK lets go of the request) and retryable', async () => {
  const started = Date.now();
  const read = async () => {
    const chunks = withIdleTimeout((signal) => provider.stream({ endpoint, model: 'demo-fast', messages: [{ role: 'user', content: `stall [tokens=20] [stall=4 times=1 key=${randomUUID()}]` }], parameters: {}, maxOutputTokens: 500, signal }), { idleMs: 500, outer: new AbortController().signal });
    for await (const _chunk of chunks);
  };
  await assert.rejects(read(), (error) => error instanceof ProviderStalledError);
  assert.ok(Date.now() - started < 5000);
});

test('complete() answers a title request through Converse', async () => {
  const title = await provider.complete({ endpoint, model: 'demo-fast', messages: [{ role: 'system', content: 'Write a concise conversation title' }, { role: 'user', content: 'User: plan a trip to Rome' }], maxOutputTokens: 32, signal: new AbortController().signal });
  assert.match(title, /Rome/);
});

test('the local server refuses a request without a SigV4 signature, as Bedrock does', async () => {
  const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
  const unsigned = await fetch(`${origin}/model/demo-fast/converse-stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(unsigned.status, 403);
  assert.match(unsigned.headers.get('x-amzn-errortype') ?? '', /^MissingAuthenticationTokenException:/);
  assert.deepEqual(await unsigned.json(), { message: 'Missing Authentication Token' });
  const forged = await fetch(`${origin}/model/demo-fast/converse`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer demo', 'x-amz-date': '20260101T000000Z' }, body });
  assert.equal(forged.status, 403);
  assert.match(forged.headers.get('x-amzn-errortype') ?? '', /^InvalidSignatureException:/);
});
