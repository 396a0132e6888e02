/**
 * The OpenAI provider module: the real `openai` SDK against the local server that speaks the
 * chat-completions protocol (workers/demo-provider/openai-compatible-server.ts), tool calls included.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, test } from 'vitest';
import { bmpImage, gifBytes, gifImage, pngImage, undecodableImage } from '../../test/helpers/vision-images.ts';
import { pngBytes } from '../../test/helpers/file-fixtures.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createOpenAIProvider } from './openai.ts';
import type { PromptMessage, ProviderChunk, ToolCallRequest, ToolDefinition } from './provider.ts';

let fake: FakeProvider;
let endpoint: ResolvedEndpoint;
const provider = createOpenAIProvider();

beforeAll(async () => {
  fake = await startFakeProvider();
  endpoint = { name: 'openAI', type: 'openAI', baseURL: fake.url, apiKey: 'demo', models: ['demo-fast'], titleConvo: true, maxContextTokens: 128_000, streamIdleTimeoutMs: 60_000, order: 0 };
});
afterAll(async () => {
  await fake.close();
});

const tool = (name: string): ToolDefinition => ({ name, description: `Looks things up in ${name}`, parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } });

async function collect(messages: PromptMessage[], tools?: ToolDefinition[]): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream({ endpoint, model: 'demo-fast', messages, parameters: {}, maxOutputTokens: 500, signal: new AbortController().signal, tools })) chunks.push(chunk);
  return chunks;
}
const textOf = (chunks: ProviderChunk[]) => chunks.map((chunk) => (chunk.type === 'text' ? chunk.text : '')).join('');
type ToolCallChunk = Extract<ProviderChunk, { type: 'tool_call' }>;
/** The one finish reason of a stream (OpenAI sends usage after it, in a chunk of its own). */
function finishOf(chunks: ProviderChunk[]): string {
  const finishes = chunks.filter((chunk) => chunk.type === 'finish');
  assert.equal(finishes.length, 1);
  return finishes[0]!.reason;
}

/** The calls as a consumer assembles them: by index, arguments concatenated. */
function assembledCalls(chunks: ProviderChunk[]): ToolCallRequest[] {
  const calls: ToolCallRequest[] = [];
  for (const chunk of chunks.filter((item): item is ToolCallChunk => item.type === 'tool_call')) {
    const call = (calls[chunk.index] ??= { id: chunk.id, name: chunk.name, arguments: '' });
    assert.equal(chunk.id, call.id, 'every chunk of a call names the same id');
    assert.equal(chunk.name, call.name);
    call.arguments += chunk.argumentsDelta;
  }
  return calls;
}

test('streams text, usage and the finish reason', async () => {
  const chunks = await collect([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello openai [tokens=15]' }]);
  assert.equal(textOf(chunks).split(' ').length, 15);
  const usage = chunks.find((chunk) => chunk.type === 'usage') as Extract<ProviderChunk, { type: 'usage' }>;
  assert.equal(usage.outputTokens, 15);
  assert.ok(usage.inputTokens > 0);
  assert.equal(finishOf(chunks), 'stop');
  assert.deepEqual(fake.lastMessages()[0], { role: 'system', content: 'be brief' });
});

test('a turn that calls a tool streams its call in pieces, then ends for tool calls; the result comes back', async () => {
  const question: PromptMessage = { role: 'user', content: 'weather in Paris today [tool=lookup]' };
  const chunks = await collect([question], [tool('lookup')]);
  const pieces = chunks.filter((chunk): chunk is ToolCallChunk => chunk.type === 'tool_call');
  assert.ok(pieces.length > 2, 'the arguments arrive in several pieces');
  assert.ok(pieces.every((piece) => piece.index === 0));
  const [call, ...others] = assembledCalls(chunks);
  assert.equal(others.length, 0);
  assert.match(call!.id, /^call_\w+$/);
  assert.equal(call!.name, 'lookup');
  assert.deepEqual(JSON.parse(call!.arguments), { query: 'weather in Paris today', position: 0 });
  const text = textOf(chunks);
  assert.equal(text.split(' ').length, 3, 'a few words come before the call');
  assert.equal(finishOf(chunks), 'tool_calls');
  assert.deepEqual(assembledCalls(await collect([question], [tool('lookup')])), [call], 'a retry gets the same call');

  const answer = await collect([question, { role: 'assistant', content: text, toolCalls: [call!] }, { role: 'tool', toolCallId: call!.id, name: 'lookup', content: 'sunny, 21 degrees' }], [tool('lookup')]);
  assert.ok(textOf(answer).startsWith('Tool lookup said: sunny, 21 degrees\n'));
  assert.equal(answer.filter((chunk) => chunk.type === 'tool_call').length, 0);
  assert.equal(finishOf(answer), 'stop');
  // The wire carried the call and its result as chat completions has them (the server read them back).
  const [, assistant, result] = fake.lastMessages();
  assert.deepEqual(assistant, { role: 'assistant', content: text, toolCalls: [call] });
  assert.deepEqual(result, { role: 'tool', content: 'sunny, 21 degrees', toolCallId: call!.id, name: 'lookup' });
});

test('parallel calls get their own indexes and ids, and every result reaches the model', async () => {
  const question: PromptMessage = { role: 'user', content: 'compare both sources [tool=a,b]' };
  const chunks = await collect([question], [tool('a'), tool('b')]);
  const calls = assembledCalls(chunks);
  assert.deepEqual(calls.map((call) => call.name), ['a', 'b']);
  assert.notEqual(calls[0]!.id, calls[1]!.id);
  assert.deepEqual(calls.map((call) => JSON.parse(call.arguments).position), [0, 1]);
  assert.equal(finishOf(chunks), 'tool_calls');
  const answer = await collect(
    [question, { role: 'assistant', content: '', toolCalls: calls }, ...calls.map((call): PromptMessage => ({ role: 'tool', toolCallId: call.id, name: call.name, content: `result of ${call.name}` }))],
    [tool('a'), tool('b')],
  );
  assert.ok(textOf(answer).startsWith('Tool a said: result of a\nTool b said: result of b\n'));
});

test('a model never calls a tool it was not offered', async () => {
  const chunks = await collect([{ role: 'user', content: 'use it [tool=missing] [tokens=6]' }], [tool('lookup')]);
  assert.equal(chunks.filter((chunk) => chunk.type === 'tool_call').length, 0);
  assert.equal(textOf(chunks).split(' ').length, 6);
  assert.equal(finishOf(chunks), 'stop');
});

test('complete() answers a title request with the usage the provider reported', async () => {
  const { text, usage } = await provider.complete({ endpoint, model: 'demo-fast', messages: [{ role: 'system', content: 'Write a concise conversation title' }, { role: 'user', content: 'User: plan a trip to Rome' }], maxOutputTokens: 32, signal: new AbortController().signal });
  assert.match(text, /Rome/);
  assert.ok(usage!.inputTokens > 0);
  assert.ok(usage!.outputTokens > 0);
});

test('a redirect from the base URL is refused, never followed (a user base URL cannot bounce the prompt elsewhere)', async () => {
  const redirector = http.createServer((request, response) => {
    response.writeHead(307, { location: `${fake.url}${request.url?.replace(/^\/v1/, '')}` });
    response.end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  try {
    const before = fake.requestCount();
    const bounced: ResolvedEndpoint = { ...endpoint, name: 'user-url', userProvideURL: true, baseURL: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/v1` };
    const stream = provider.stream({ endpoint: bounced, model: 'demo-fast', messages: [{ role: 'user', content: 'hello [tokens=3]' }], parameters: {}, maxOutputTokens: 50, signal: new AbortController().signal });
    await assert.rejects(async () => {
      for await (const _chunk of stream) void _chunk;
    });
    assert.equal(fake.requestCount(), before, 'the redirect target was never called');
  } finally {
    redirector.close();
  }
});

/** The user messages of the last request as they went over the wire. */
const wireMessages = () => (fake.lastBody() as { messages: Array<{ role: string; content: unknown }> }).messages;

test('an attached image reaches the model as an image_url data URL part after the text', async () => {
  const chunks = await collect([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'Please DESCRIBE THE IMAGE', images: [pngImage] }]);
  assert.equal(textOf(chunks), `I see 1 image(s): image/png ${pngBytes.length} bytes`);
  assert.equal(finishOf(chunks), 'stop');
  assert.deepEqual(wireMessages()[1], {
    role: 'user',
    content: [
      { type: 'text', text: 'Please DESCRIBE THE IMAGE' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${pngImage.data}` } },
    ],
  });
});

test('two images reach the model in order; an earlier message keeps its own image', async () => {
  const chunks = await collect([{ role: 'user', content: 'first', images: [gifImage] }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'describe the image', images: [pngImage, gifImage] }]);
  assert.equal(textOf(chunks), `I see 2 image(s): image/png ${pngBytes.length} bytes; image/gif ${gifBytes.length} bytes`);
  assert.deepEqual(fake.lastMessages()[0], { role: 'user', content: 'first', images: [{ mimeType: 'image/gif', bytes: gifBytes.length }] });
  // Without the words that ask for it, images change nothing in the demo model's reply.
  const plain = textOf(await collect([{ role: 'user', content: 'hello there [tokens=8]' }]));
  assert.equal(textOf(await collect([{ role: 'user', content: 'hello there [tokens=8]', images: [pngImage] }])), plain);
});

test('a message without images goes as a plain string, as before', async () => {
  await collect([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'describe the image [tokens=3]', images: [] }]);
  assert.deepEqual(wireMessages(), [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'describe the image [tokens=3]' },
  ]);
  assert.deepEqual(fake.lastMessages().at(-1), { role: 'user', content: 'describe the image [tokens=3]' });
});

test('a malformed image is refused with OpenAI\'s 400, final, never retried', async () => {
  for (const [image, words] of [
    [undecodableImage, /refused the request \(400\): Invalid base64 image_url\./],
    [bmpImage, /refused the request \(400\): Invalid 'messages\[0\]\.content\[1\]\.image_url\.url'\. Expected a base64-encoded data URL with an image MIME type .* but got unsupported MIME type 'image\/bmp'/],
  ] as const) {
    const before = fake.requestCount();
    await assert.rejects(collect([{ role: 'user', content: 'describe the image', images: [image] }]), (error) => error instanceof ApplicationFailure && error.nonRetryable === true && words.test(error.message));
    assert.equal(fake.requestCount() - before, 1, 'one request: the SDK does not retry a 400');
  }
});
