/**
 * The Anthropic provider module: the real `@anthropic-ai/sdk` against the local server that speaks
 * Anthropic's Messages protocol (workers/demo-provider/anthropic-messages.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, test } from 'vitest';
import { pngBytes } from '../../test/helpers/file-fixtures.ts';
import { bmpImage, gifBytes, gifImage, mislabelledImage, pngImage } from '../../test/helpers/vision-images.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createAnthropicProvider } from './anthropic.ts';
import type { PromptMessage, ProviderChunk, ToolDefinition } from './provider.ts';
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

test('complete() answers a title request, with the usage Anthropic reported', async () => {
  const title = await provider.complete({ endpoint, model: 'demo-fast', messages: [{ role: 'system', content: 'Write a concise conversation title' }, { role: 'user', content: 'User: plan a trip to Rome' }], maxOutputTokens: 32, signal: new AbortController().signal });
  assert.match(title.text, /Rome/);
  assert.ok(title.usage && title.usage.inputTokens > 0 && title.usage.outputTokens > 0, JSON.stringify(title.usage));
});

const tool = (name: string): ToolDefinition => ({ name, description: `Looks things up in ${name}`, parameters: { type: 'object', properties: { query: { type: 'string' }, position: { type: 'integer' } }, required: ['query'] } });

async function run(messages: PromptMessage[], tools: ToolDefinition[], options: { thinking?: number } = {}): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream({ endpoint: { ...endpoint, thinkingBudgetTokens: options.thinking }, model: 'demo-fast', messages, parameters: {}, maxOutputTokens: 500, signal: new AbortController().signal, tools })) chunks.push(chunk);
  return chunks;
}

/** The calls of a stream, assembled from their chunks; every chunk of a call repeats its id and name. */
function callsOf(chunks: ProviderChunk[]): Array<{ index: number; id: string; name: string; arguments: string; pieces: number }> {
  const calls = new Map<number, { index: number; id: string; name: string; arguments: string; pieces: number }>();
  for (const chunk of chunks) {
    if (chunk.type !== 'tool_call') continue;
    const call = calls.get(chunk.index);
    if (!call) calls.set(chunk.index, { index: chunk.index, id: chunk.id, name: chunk.name, arguments: chunk.argumentsDelta, pieces: 1 });
    else {
      assert.equal(chunk.id, call.id);
      assert.equal(chunk.name, call.name);
      call.arguments += chunk.argumentsDelta;
      call.pieces += 1;
    }
  }
  return [...calls.values()].sort((a, b) => a.index - b.index);
}

test('a tool offered and asked for streams as tool_call chunks after a few words, finishing with tool_calls', async () => {
  const messages: PromptMessage[] = [{ role: 'user', content: 'weather in Rome today [tool=lookup tokens=8]' }];
  const chunks = await run(messages, [tool('lookup')]);
  const [call, ...others] = callsOf(chunks);
  assert.equal(others.length, 0);
  assert.equal(call!.name, 'lookup');
  assert.match(call!.id, /^toolu_\w+$/);
  assert.deepEqual(JSON.parse(call!.arguments), { query: 'weather in Rome today', position: 0 });
  assert.ok(call!.pieces > 2, 'the input arrived in several input_json_delta pieces');
  assert.ok(chunks.findIndex((chunk) => chunk.type === 'text') < chunks.findIndex((chunk) => chunk.type === 'tool_call'));
  assert.equal(textOf(chunks).split(' ').length, 3);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'tool_calls' });
  const usage = chunks.find((chunk) => chunk.type === 'usage') as Extract<ProviderChunk, { type: 'usage' }>;
  assert.ok(usage.outputTokens > 3, 'the call counts as output');
  // A retry of the same request gets the same call.
  assert.deepEqual(callsOf(await run(messages, [tool('lookup')])), [call]);

  // The call and its result go back; the model answers with the result.
  const followUp: PromptMessage[] = [...messages, { role: 'assistant', content: textOf(chunks), toolCalls: [{ id: call!.id, name: call!.name, arguments: call!.arguments }] }, { role: 'tool', toolCallId: call!.id, name: 'lookup', content: 'sunny, 24 degrees' }];
  const answer = await run(followUp, [tool('lookup')]);
  assert.match(textOf(answer), /^Tool lookup said: sunny, 24 degrees\n/);
  assert.equal(callsOf(answer).length, 0);
  assert.deepEqual(answer.at(-1), { type: 'finish', reason: 'stop' });
  // What the server read: the assistant's call (input as an object, read back as the same JSON) and the result.
  const seen = fake.lastMessages();
  assert.deepEqual(seen.find((message) => message.role === 'assistant')?.toolCalls, [{ id: call!.id, name: 'lookup', arguments: call!.arguments }]);
  assert.deepEqual(seen.at(-1), { role: 'tool', toolCallId: call!.id, name: 'lookup', content: 'sunny, 24 degrees' });
});

test('two tools asked for are two parallel calls; both results go back in one user turn and are answered', async () => {
  const messages: PromptMessage[] = [{ role: 'user', content: 'compare both sources [tool=alpha,beta tokens=8]' }];
  const chunks = await run(messages, [tool('alpha'), tool('beta')]);
  const calls = callsOf(chunks);
  assert.deepEqual(calls.map((call) => [call.index, call.name]), [[0, 'alpha'], [1, 'beta']]);
  assert.notEqual(calls[0]!.id, calls[1]!.id);
  assert.deepEqual(calls.map((call) => JSON.parse(call.arguments).position), [0, 1]);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'tool_calls' });

  // Anthropic (and the local server) refuse results split over two user turns: this passing shows one turn.
  const followUp: PromptMessage[] = [
    ...messages,
    { role: 'assistant', content: textOf(chunks), toolCalls: calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })) },
    { role: 'tool', toolCallId: calls[0]!.id, name: 'alpha', content: 'alpha says 1' },
    { role: 'tool', toolCallId: calls[1]!.id, name: 'beta', content: 'beta failed: timeout', isError: true },
  ];
  const answer = textOf(await run(followUp, [tool('alpha'), tool('beta')]));
  assert.match(answer, /^Tool alpha said: alpha says 1\nTool beta said: beta failed: timeout\n/);
});

test('a tool that was not offered is not called: a plain answer, finish stop', async () => {
  const chunks = await run([{ role: 'user', content: 'look it up [tool=missing] [tokens=6]' }], [tool('lookup')]);
  assert.equal(callsOf(chunks).length, 0);
  assert.equal(textOf(chunks).split(' ').length, 6);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
});

test('a tool_result answering no tool_use is refused as Anthropic refuses it: final, in its words', async () => {
  const messages: PromptMessage[] = [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi' }, { role: 'tool', toolCallId: 'toolu_nowhere', name: 'lookup', content: 'orphan' }];
  await assert.rejects(run(messages, [tool('lookup')]), (error) => error instanceof ApplicationFailure && error.nonRetryable === true && /refused the request \(400\): messages\.2\.content\.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_nowhere/.test(error.message));
});

test('a request offering no tools (a title) carries its tool history as text', async () => {
  const messages: PromptMessage[] = [
    { role: 'system', content: 'Write a concise conversation title' },
    { role: 'user', content: 'User: weather in Rome [tool=lookup]' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'toolu_1', name: 'lookup', arguments: '{"query":"Rome"}' }] },
    { role: 'tool', toolCallId: 'toolu_1', name: 'lookup', content: 'no data', isError: true },
  ];
  const title = await provider.complete({ endpoint, model: 'demo-fast', messages, maxOutputTokens: 32, signal: new AbortController().signal });
  assert.ok(title.text.length > 0);
  assert.deepEqual(fake.lastMessages().slice(1), [
    { role: 'user', content: 'User: weather in Rome [tool=lookup]' },
    { role: 'assistant', content: '[called lookup with {"query":"Rome"}]' },
    { role: 'user', content: '[lookup failed: no data]' },
  ]);
});

test('with thinking on, the call streams after the thinking; the results go back without thinking', async () => {
  const messages: PromptMessage[] = [{ role: 'user', content: 'think then look up [tool=lookup tokens=8]' }];
  const chunks = await run(messages, [tool('lookup')], { thinking: 2048 });
  assert.ok(chunks.findIndex((chunk) => chunk.type === 'reasoning') < chunks.findIndex((chunk) => chunk.type === 'tool_call'));
  const [call] = callsOf(chunks);
  const followUp: PromptMessage[] = [...messages, { role: 'assistant', content: textOf(chunks), toolCalls: [{ id: call!.id, name: call!.name, arguments: call!.arguments }] }, { role: 'tool', toolCallId: call!.id, name: 'lookup', content: 'found it' }];
  // Thinking would need the calling turn's signed thinking block, which prompts do not carry: without it
  // Anthropic refuses the request (the local server too, checked below), so the provider leaves thinking off.
  const answer = await run(followUp, [tool('lookup')], { thinking: 2048 });
  assert.match(textOf(answer), /^Tool lookup said: found it/);
  assert.equal(answer.filter((chunk) => chunk.type === 'reasoning').length, 0);
  const refused = await fetch(`${endpoint.baseURL}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'demo', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'demo-fast',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [
        { role: 'user', content: 'think then look up [tool=lookup tokens=8]' },
        { role: 'assistant', content: [{ type: 'tool_use', id: call!.id, name: 'lookup', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call!.id, content: 'found it' }] },
      ],
    }),
  });
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /must start with a thinking block/);
});

/** The messages of the last request as they went over the wire. */
const wireMessages = () => (fake.lastBody() as { messages: Array<{ role: string; content: unknown }> }).messages;
const imageBlock = (image: { mimeType: string; data: string }) => ({ type: 'image', source: { type: 'base64', media_type: image.mimeType, data: image.data } });

test('an attached image reaches the model as a base64 image block before the text', async () => {
  const chunks = await run([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'Describe the image, please', images: [pngImage] }], []);
  assert.equal(textOf(chunks), `I see 1 image(s): image/png ${pngBytes.length} bytes`);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  assert.deepEqual(wireMessages(), [{ role: 'user', content: [imageBlock(pngImage), { type: 'text', text: 'Describe the image, please' }] }]);
});

test('two images reach the model in order; merged user turns keep each message\'s images before its text', async () => {
  const two = await run([{ role: 'user', content: 'describe the image', images: [pngImage, gifImage] }], []);
  assert.equal(textOf(two), `I see 2 image(s): image/png ${pngBytes.length} bytes; image/gif ${gifBytes.length} bytes`);
  // Two user messages in a row become one turn (Anthropic requires alternation): both images survive, in order.
  const merged = await run([{ role: 'user', content: 'first look at this', images: [gifImage] }, { role: 'user', content: 'now describe the image', images: [pngImage] }], []);
  assert.equal(textOf(merged), `I see 2 image(s): image/gif ${gifBytes.length} bytes; image/png ${pngBytes.length} bytes`);
  assert.deepEqual(wireMessages(), [
    { role: 'user', content: [imageBlock(gifImage), { type: 'text', text: 'first look at this' }, imageBlock(pngImage), { type: 'text', text: 'now describe the image' }] },
  ]);
  // An image-only message sends no empty text block (Anthropic refuses one).
  await run([{ role: 'user', content: 'describe the image' }, { role: 'user', content: '', images: [gifImage] }], []);
  assert.deepEqual(wireMessages(), [{ role: 'user', content: [{ type: 'text', text: 'describe the image' }, imageBlock(gifImage)] }]);
  // Without the words that ask for it, images change nothing in the demo model's reply.
  const plain = textOf(await run([{ role: 'user', content: 'hello there [tokens=8]' }], []));
  assert.equal(textOf(await run([{ role: 'user', content: 'hello there [tokens=8]', images: [pngImage] }], [])), plain);
});

test('messages without images go as plain strings, merged as before', async () => {
  await run([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'one' }, { role: 'user', content: 'two [tokens=3]', images: [] }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'three [tokens=3]' }], []);
  assert.deepEqual(wireMessages(), [
    { role: 'user', content: 'one\n\ntwo [tokens=3]' },
    { role: 'assistant', content: 'ok' },
    { role: 'user', content: 'three [tokens=3]' },
  ]);
});

test('a malformed image is refused with Anthropic\'s 400 invalid_request_error, final, never retried', async () => {
  for (const [image, words] of [
    [mislabelledImage, /refused the request \(400\): messages\.0\.content\.0\.image\.source\.base64: The image was specified using the image\/png media type, but the image appears to be a image\/gif image/],
    [bmpImage, /refused the request \(400\): messages\.0\.content\.0\.image\.source\.base64\.media_type: Input should be 'image\/jpeg', 'image\/png', 'image\/gif' or 'image\/webp'/],
  ] as const) {
    const before = fake.requestCount();
    await assert.rejects(run([{ role: 'user', content: 'describe the image', images: [image] }], []), (error) => error instanceof ApplicationFailure && error.nonRetryable === true && words.test(error.message));
    assert.equal(fake.requestCount() - before, 1, 'one request: the SDK does not retry a 400');
  }
  // Base64 that does not decode, sent as Anthropic's API would receive it.
  const refused = await fetch(`${endpoint.baseURL}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'demo', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'demo-fast', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'not base64!' } }, { type: 'text', text: 'describe the image' }] }] }),
  });
  assert.equal(refused.status, 400);
  assert.deepEqual(((await refused.json()) as { error: unknown }).error, { type: 'invalid_request_error', message: 'messages.0.content.0.image.source.base64.data: Invalid base64 data' });
});
