/**
 * The Google provider module: the real `@google/genai` SDK against the local server that speaks Gemini's
 * `streamGenerateContent?alt=sse` protocol (workers/demo-provider/gemini-generate.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, test } from 'vitest';
import { pngBytes } from '../../test/helpers/file-fixtures.ts';
import { bmpImage, gifBytes, gifImage, pngImage, undecodableImage } from '../../test/helpers/vision-images.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createGoogleProvider } from './google.ts';
import { CONTINUE_INSTRUCTION, type PromptMessage, type ProviderChunk, type ToolCallRequest, type ToolDefinition } from './provider.ts';
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

async function collect(messages: PromptMessage[], thinking?: number, tools?: ToolDefinition[]): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream({ endpoint: { ...endpoint, thinkingBudgetTokens: thinking }, model: 'demo-fast', messages, parameters: {}, maxOutputTokens: 500, signal: new AbortController().signal, tools })) chunks.push(chunk);
  return chunks;
}
const textOf = (chunks: ProviderChunk[]) => chunks.map((chunk) => (chunk.type === 'text' ? chunk.text : '')).join('');
const tool = (name: string): ToolDefinition => ({ name, description: `Looks things up in ${name}`, parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } });
type ToolCallChunk = Extract<ProviderChunk, { type: 'tool_call' }>;
const callsOf = (chunks: ProviderChunk[]): ToolCallRequest[] =>
  chunks.filter((chunk): chunk is ToolCallChunk => chunk.type === 'tool_call').map((chunk) => ({ id: chunk.id, name: chunk.name, arguments: chunk.argumentsDelta }));

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

test('a function call comes whole in one chunk and ends the turn for tool calls; its result comes back', async () => {
  const question: PromptMessage = { role: 'user', content: 'weather in Paris today [tool=lookup]' };
  const chunks = await collect([question], undefined, [tool('lookup')]);
  const pieces = chunks.filter((chunk): chunk is ToolCallChunk => chunk.type === 'tool_call');
  assert.equal(pieces.length, 1, 'Gemini sends each call whole');
  assert.equal(pieces[0]!.index, 0);
  const [call] = callsOf(chunks);
  assert.ok(call!.id);
  assert.equal(call!.name, 'lookup');
  assert.deepEqual(JSON.parse(call!.arguments), { query: 'weather in Paris today', position: 0 });
  const text = textOf(chunks);
  assert.equal(text.split(' ').length, 3, 'a few words come before the call');
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'tool_calls' }, 'Gemini says STOP; the turn ended for its calls');
  assert.deepEqual(callsOf(await collect([question], undefined, [tool('lookup')])), [call], 'a retry gets the same call');

  const answer = await collect([question, { role: 'assistant', content: text, toolCalls: [call!] }, { role: 'tool', toolCallId: call!.id, name: 'lookup', content: 'sunny, 21 degrees' }], undefined, [tool('lookup')]);
  assert.ok(textOf(answer).startsWith('Tool lookup said: sunny, 21 degrees\n'));
  assert.equal(answer.filter((chunk) => chunk.type === 'tool_call').length, 0);
  assert.deepEqual(answer.at(-1), { type: 'finish', reason: 'stop' });
  // The wire carried a functionCall part in the model turn and a functionResponse part in a user turn.
  const [, assistant, result] = fake.lastMessages();
  assert.deepEqual(assistant, { role: 'assistant', content: text, toolCalls: [call] });
  assert.deepEqual(result, { role: 'tool', content: 'sunny, 21 degrees', toolCallId: call!.id, name: 'lookup' });

  const failed = await collect([question, { role: 'assistant', content: text, toolCalls: [call!] }, { role: 'tool', toolCallId: call!.id, name: 'lookup', content: 'service down', isError: true }], undefined, [tool('lookup')]);
  assert.ok(textOf(failed).startsWith('Tool lookup said: service down\n'), 'a failure travels as the response\'s error');
});

test('parallel calls get their own indexes and ids, and all results go back in one user turn', async () => {
  const question: PromptMessage = { role: 'user', content: 'compare both sources [tool=a,b]' };
  const chunks = await collect([question], undefined, [tool('a'), tool('b')]);
  const pieces = chunks.filter((chunk): chunk is ToolCallChunk => chunk.type === 'tool_call');
  assert.deepEqual(pieces.map((piece) => [piece.index, piece.name]), [[0, 'a'], [1, 'b']]);
  assert.notEqual(pieces[0]!.id, pieces[1]!.id);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'tool_calls' });
  const calls = callsOf(chunks);
  const answer = await collect(
    [question, { role: 'assistant', content: '', toolCalls: calls }, ...calls.map((call): PromptMessage => ({ role: 'tool', toolCallId: call.id, name: call.name, content: `result of ${call.name}` }))],
    undefined,
    [tool('a'), tool('b')],
  );
  assert.ok(textOf(answer).startsWith('Tool a said: result of a\nTool b said: result of b\n'));
  assert.deepEqual(fake.lastMessages()[1], { role: 'assistant', content: '', toolCalls: calls }, 'the model turn carried both calls');
});

test('a model never calls a function it was not offered', async () => {
  const chunks = await collect([{ role: 'user', content: 'use it [tool=missing] [tokens=6]' }], undefined, [tool('lookup')]);
  assert.equal(chunks.filter((chunk) => chunk.type === 'tool_call').length, 0);
  assert.equal(textOf(chunks).split(' ').length, 6);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
});

test('complete() answers a title request with the usage Gemini reported', async () => {
  const { text, usage } = await provider.complete({ endpoint, model: 'demo-fast', messages: [{ role: 'system', content: 'Write a concise conversation title' }, { role: 'user', content: 'User: plan a trip to Rome' }], maxOutputTokens: 32, signal: new AbortController().signal });
  assert.match(text, /Rome/);
  assert.ok(usage!.inputTokens > 0);
  assert.ok(usage!.outputTokens > 0);
});

test('a call\'s thought signature travels back with it; Gemini 3 refuses the call without it', async () => {
  const run = async (messages: PromptMessage[]) => {
    const chunks: ProviderChunk[] = [];
    for await (const chunk of provider.stream({ endpoint, model: 'gemini-3-pro-preview', messages, parameters: {}, maxOutputTokens: 500, signal: new AbortController().signal, tools: [tool('lookup')] })) chunks.push(chunk);
    return chunks;
  };
  const question: PromptMessage = { role: 'user', content: 'weather in Rome [tool=lookup]' };
  const chunks = await run([question]);
  const piece = chunks.find((chunk): chunk is ToolCallChunk => chunk.type === 'tool_call')!;
  assert.ok(piece.signature, 'the signature Gemini sent is kept');
  const call: ToolCallRequest = { id: piece.id, name: piece.name, arguments: piece.argumentsDelta, signature: piece.signature };
  const result: PromptMessage = { role: 'tool', toolCallId: call.id, name: 'lookup', content: 'warm' };
  const answer = await run([question, { role: 'assistant', content: textOf(chunks), toolCalls: [call] }, result]);
  assert.ok(textOf(answer).startsWith('Tool lookup said: warm\n'));
  const { signature: _dropped, ...unsigned } = call;
  await assert.rejects(run([question, { role: 'assistant', content: textOf(chunks), toolCalls: [unsigned] }, result]), (error: Error) => /thought_signature/.test(error.message) && error.name === 'ApplicationFailure');
});

/** The contents of the last request as they went over the wire. */
const wireContents = () => (fake.lastBody() as { contents: Array<{ role: string; parts: unknown[] }> }).contents;
const inline = (image: { mimeType: string; data: string }) => ({ inlineData: { mimeType: image.mimeType, data: image.data } });

test('an attached image reaches the model as an inlineData part before the text', async () => {
  const chunks = await collect([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'Describe The Image', images: [pngImage] }]);
  assert.equal(textOf(chunks), `I see 1 image(s): image/png ${pngBytes.length} bytes`);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  assert.deepEqual(wireContents(), [{ role: 'user', parts: [inline(pngImage), { text: 'Describe The Image' }] }]);
});

test('two images reach the model in order; joined user turns keep both messages\' images', async () => {
  const two = await collect([{ role: 'user', content: 'describe the image', images: [pngImage, gifImage] }]);
  assert.equal(textOf(two), `I see 2 image(s): image/png ${pngBytes.length} bytes; image/gif ${gifBytes.length} bytes`);
  const joined = await collect([{ role: 'user', content: 'first', images: [gifImage] }, { role: 'user', content: '', images: [pngImage] }, { role: 'user', content: 'describe the image' }]);
  assert.equal(textOf(joined), `I see 2 image(s): image/gif ${gifBytes.length} bytes; image/png ${pngBytes.length} bytes`);
  // An image-only message has no (empty) text part.
  assert.deepEqual(wireContents(), [{ role: 'user', parts: [inline(gifImage), { text: 'first' }, inline(pngImage), { text: 'describe the image' }] }]);
  // Without the words that ask for it, images change nothing in the demo model's reply.
  const plain = textOf(await collect([{ role: 'user', content: 'hello there [tokens=8]' }]));
  assert.equal(textOf(await collect([{ role: 'user', content: 'hello there [tokens=8]', images: [pngImage] }])), plain);
});

test('a message without images is one text part, as before', async () => {
  await collect([{ role: 'user', content: '', images: [] }, { role: 'assistant', content: 'hi' }, { role: 'user', content: 'hello [tokens=3]' }]);
  assert.deepEqual(wireContents(), [
    { role: 'user', parts: [{ text: '' }] },
    { role: 'model', parts: [{ text: 'hi' }] },
    { role: 'user', parts: [{ text: 'hello [tokens=3]' }] },
  ]);
});

test('a malformed image is refused with Gemini\'s 400 INVALID_ARGUMENT, final, never retried', async () => {
  for (const [image, words] of [
    [undecodableImage, /refused the request \(400\): Invalid value at 'contents\[0\]\.parts\[0\]\.inline_data\.data' \(TYPE_BYTES\), Base64 decoding failed for "this is not base64!"/],
    [bmpImage, /refused the request \(400\): Unsupported MIME type: image\/bmp/],
  ] as const) {
    const before = fake.requestCount();
    await assert.rejects(collect([{ role: 'user', content: 'describe the image', images: [image] }]), (error) => error instanceof ApplicationFailure && error.nonRetryable === true && words.test(error.message));
    assert.equal(fake.requestCount() - before, 1, 'one request: a 400 is not retried');
  }
  // Bytes that are no image at all, as Gemini's API would receive them.
  const refused = await fetch(`${endpoint.baseURL}/v1beta/models/demo-fast:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': 'demo' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ inline_data: { mime_type: 'image/png', data: Buffer.from('plain text').toString('base64') } }, { text: 'describe the image' }] }] }),
  });
  assert.equal(refused.status, 400);
  assert.deepEqual(await refused.json(), { error: { code: 400, message: 'Provided image is not valid.', status: 'INVALID_ARGUMENT' } });
});
