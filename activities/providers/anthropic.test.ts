/**
 * The Anthropic provider module: the real `@anthropic-ai/sdk` against the local server that speaks
 * Anthropic's Messages protocol (workers/demo-provider/anthropic-messages.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, test } from 'vitest';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createAnthropicProvider } from './anthropic.ts';
import type { ProviderChunk } from './provider.ts';
import { ProviderTransientError } from './provider-errors.ts';

let fake: FakeProvider;
let endpoint: ResolvedEndpoint;
const provider = createAnthropicProvider();

beforeAll(async () => {
  fake = await startFakeProvider();
  endpoint = { name: 'anthropic', type: 'anthropic', baseURL: fake.url.replace(/\/v1$/, ''), apiKey: 'demo', models: ['demo-fast'], titleConvo: true, maxContextTokens: 200_000, streamIdleTimeoutMs: 60_000, order: 0 };
});
afterAll(async () => {
  await fake.close();
});

async function collect(text: string, options: { prefill?: string; thinking?: number } = {}): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  const messages = [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: text }, ...(options.prefill ? [{ role: 'assistant' as const, content: options.prefill }] : [])];
  for await (const chunk of provider.stream({ endpoint: { ...endpoint, thinkingBudgetTokens: options.thinking }, model: 'demo-fast', messages, parameters: {}, maxOutputTokens: 500, signal: new AbortController().signal })) chunks.push(chunk);
  return chunks;
}
const textOf = (chunks: ProviderChunk[]) => chunks.map((chunk) => (chunk.type === 'text' ? chunk.text : '')).join('');

test('streams text, usage and the finish reason; the system text travels apart', async () => {
  const chunks = await collect('hello claude [tokens=25]');
  assert.equal(textOf(chunks).split(' ').length, 25);
  const usage = chunks.find((chunk) => chunk.type === 'usage') as Extract<ProviderChunk, { type: 'usage' }>;
  assert.equal(usage.outputTokens, 25);
  assert.ok(usage.inputTokens > 0);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  assert.deepEqual(fake.lastMessages()[0], { role: 'system', content: 'be brief' });
});

test('extended thinking streams as reasoning before the text', async () => {
  const chunks = await collect('think first [tokens=10]', { thinking: 2048 });
  const firstText = chunks.findIndex((chunk) => chunk.type === 'text');
  const reasoning = chunks.filter((chunk) => chunk.type === 'reasoning');
  assert.ok(reasoning.length > 0);
  assert.ok(chunks.findIndex((chunk) => chunk.type === 'reasoning') < firstText);
});

test('a prefill is continued: partial + continuation is exactly the whole reply', async () => {
  const whole = textOf(await collect('continue me [tokens=30]'));
  const partial = whole.slice(0, 53);
  assert.equal(partial + textOf(await collect('continue me [tokens=30]', { prefill: partial })), whole);
  assert.equal(provider.continuation, 'prefill');
});

test('429, 529 and a dropped stream are retryable; 401 and 400 are final with the provider\'s words', async () => {
  for (const status of [429, 529, 500]) {
    const key = randomUUID();
    await assert.rejects(collect(`fail [fail=${status} times=1 key=${key}]`), (error) => error instanceof ProviderTransientError && new RegExp(String(status)).test(error.message));
  }
  const dropKey = randomUUID();
  await assert.rejects(collect(`drop [tokens=20] [drop=5 times=1 key=${dropKey}]`), (error) => error instanceof ProviderTransientError);
  for (const status of [401, 400]) {
    const key = randomUUID();
    await assert.rejects(collect(`fail [fail=${status} times=1 key=${key}]`), (error) => error instanceof ApplicationFailure && error.nonRetryable === true && /refused the request \((401|400)\)/.test(error.message));
  }
});

test('complete() answers a title request', async () => {
  const title = await provider.complete({ endpoint, model: 'demo-fast', messages: [{ role: 'system', content: 'Write a concise conversation title' }, { role: 'user', content: 'User: plan a trip to Rome' }], maxOutputTokens: 32, signal: new AbortController().signal });
  assert.match(title, /Rome/);
});
