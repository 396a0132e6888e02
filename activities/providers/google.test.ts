/**
 * The Google provider module: the real `@google/genai` SDK against the local server that speaks Gemini's
 * `streamGenerateContent?alt=sse` protocol (workers/demo-provider/gemini-generate.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, test } from 'vitest';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createGoogleProvider } from './google.ts';
import { CONTINUE_INSTRUCTION, type ProviderChunk } from './provider.ts';
import { ProviderTransientError } from './provider-errors.ts';

let fake: FakeProvider;
let endpoint: ResolvedEndpoint;
const provider = createGoogleProvider();

beforeAll(async () => {
  fake = await startFakeProvider();
  endpoint = { name: 'google', type: 'google', baseURL: fake.url.replace(/\/v1$/, ''), apiKey: 'demo', models: ['demo-fast'], titleConvo: true, maxContextTokens: 1_000_000, streamIdleTimeoutMs: 60_000, order: 0 };
});
afterAll(async () => {
  await fake.close();
});

async function collect(messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>, thinking?: number): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream({ endpoint: { ...endpoint, thinkingBudgetTokens: thinking }, model: 'demo-fast', messages, parameters: {}, maxOutputTokens: 500, signal: new AbortController().signal })) chunks.push(chunk);
  return chunks;
}
const textOf = (chunks: ProviderChunk[]) => chunks.map((chunk) => (chunk.type === 'text' ? chunk.text : '')).join('');

test('streams text, thoughts as reasoning, usage and the finish reason', async () => {
  const chunks = await collect([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello gemini [tokens=15]' }], 1024);
  assert.equal(textOf(chunks).split(' ').length, 15);
  assert.ok(chunks.some((chunk) => chunk.type === 'reasoning'));
  const usage = chunks.find((chunk) => chunk.type === 'usage') as Extract<ProviderChunk, { type: 'usage' }>;
  assert.equal(usage.outputTokens, 15);
  assert.ok(usage.reasoningTokens! > 0);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  assert.deepEqual(fake.lastMessages()[0], { role: 'system', content: 'be brief' });
});

test('continues a cut-off reply by instruction (a last model turn is not a prefix)', async () => {
  const question = { role: 'user' as const, content: 'continue me [tokens=30]' };
  const whole = textOf(await collect([question]));
  const partial = whole.slice(0, 41);
  assert.equal(textOf(await collect([question, { role: 'assistant', content: partial }])), whole, 'a bare last model turn gets the whole reply again');
  assert.equal(partial + textOf(await collect([question, { role: 'assistant', content: partial }, { role: 'user', content: CONTINUE_INSTRUCTION }])), whole);
  assert.equal(provider.continuation, 'instruction');
});

test('429, 503 and a dropped stream are retryable; 400 and 403 are final with Google\'s words', async () => {
  for (const status of [429, 503]) {
    await assert.rejects(collect([{ role: 'user', content: `fail [fail=${status} times=1 key=${randomUUID()}]` }]), (error) => error instanceof ProviderTransientError && error.message.includes(String(status)));
  }
  await assert.rejects(collect([{ role: 'user', content: `drop [tokens=20] [drop=5 times=1 key=${randomUUID()}]` }]), (error) => error instanceof ProviderTransientError);
  for (const status of [400, 403]) {
    await assert.rejects(
      collect([{ role: 'user', content: `fail [fail=${status} times=1 key=${randomUUID()}]` }]),
      (error) => error instanceof ApplicationFailure && error.nonRetryable === true && error.message.includes(`(${status}): The demo server was told to answer ${status}.`),
    );
  }
});

test('complete() answers a title request', async () => {
  const title = await provider.complete({ endpoint, model: 'demo-fast', messages: [{ role: 'system', content: 'Write a concise conversation title' }, { role: 'user', content: 'User: plan a trip to Rome' }], maxOutputTokens: 32, signal: new AbortController().signal });
  assert.match(title, /Rome/);
});
