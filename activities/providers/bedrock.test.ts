/**
 * The Bedrock provider module: the real `@aws-sdk/client-bedrock-runtime` (SigV4-signed ConverseStream,
 * binary event stream) against the local server that speaks Bedrock's protocol (workers/demo-provider/bedrock-converse.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, test } from 'vitest';
import { pngBytes } from '../../test/helpers/file-fixtures.ts';
import { bmpImage, gifBytes, gifImage, mislabelledImage, pngImage } from '../../test/helpers/vision-images.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { startFakeProvider, type FakeProvider } from '../../workers/demo-provider/openai-compatible-server.ts';
import { createBedrockProvider } from './bedrock.ts';
import { withIdleTimeout } from './idle-timeout.ts';
import type { PromptMessage, ProviderChunk, ToolDefinition } from './provider.ts';
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

test('complete() answers a title request through Converse, with the usage Bedrock reported', async () => {
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
  assert.match(call!.id, /^tooluse_\w+$/);
  assert.deepEqual(JSON.parse(call!.arguments), { query: 'weather in Rome today', position: 0 });
  assert.ok(call!.pieces > 2, 'the input arrived in several contentBlockDelta pieces');
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
  // What the server read: the assistant's call (input as a document, read back as the same JSON) and the result.
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

  // Bedrock (and the local server) refuse results split over two user turns: this passing shows one turn.
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

test('a toolResult answering no toolUse is refused as Bedrock refuses it: final, in its words', async () => {
  const messages: PromptMessage[] = [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi', toolCalls: [{ id: 'tooluse_real', name: 'lookup', arguments: '{}' }] }, { role: 'tool', toolCallId: 'tooluse_nowhere', name: 'lookup', content: 'orphan' }];
  await assert.rejects(run(messages, [tool('lookup')]), isFinal(/refused the request \(400\): .*unexpected `tool_use_id` found in `tool_result` blocks: tooluse_nowhere/));
});

test('a request offering no tools carries its tool history as text (Converse refuses tool blocks without a toolConfig)', async () => {
  const messages: PromptMessage[] = [
    { role: 'system', content: 'Write a concise conversation title' },
    { role: 'user', content: 'User: weather in Rome [tool=lookup]' },
    { role: 'assistant', content: 'Let me check.', toolCalls: [{ id: 'tooluse_1', name: 'lookup', arguments: '{"query":"Rome"}' }] },
    { role: 'tool', toolCallId: 'tooluse_1', name: 'lookup', content: 'sunny' },
  ];
  const title = await provider.complete({ endpoint, model: 'demo-fast', messages, maxOutputTokens: 32, signal: new AbortController().signal });
  assert.ok(title.text.length > 0);
  assert.deepEqual(fake.lastMessages().slice(1), [
    { role: 'user', content: 'User: weather in Rome [tool=lookup]' },
    { role: 'assistant', content: 'Let me check.\n\n[called lookup with {"query":"Rome"}]' },
    { role: 'user', content: '[lookup returned: sunny]' },
  ]);
  // Sent as blocks, the same history is refused, as Bedrock refuses it.
  const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: origin, credentials: endpoint.aws!.credentials!, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
  const blocks = [
    { role: 'user' as const, content: [{ text: 'weather in Rome' }] },
    { role: 'assistant' as const, content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'lookup', input: { query: 'Rome' } } }] },
    { role: 'user' as const, content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ text: 'sunny' }] } }] },
  ];
  await assert.rejects(client.send(new ConverseCommand({ modelId: 'demo-fast', messages: blocks })), (error) => error instanceof Error && error.name === 'ValidationException' && /toolConfig field must be defined/.test(error.message));
  client.destroy();
});

test('with thinking on, the call streams after the reasoning; the results go back without thinking', async () => {
  const messages: PromptMessage[] = [{ role: 'user', content: 'think then look up [tool=lookup tokens=8]' }];
  const chunks = await run(messages, [tool('lookup')], { thinking: 2048 });
  assert.ok(chunks.findIndex((chunk) => chunk.type === 'reasoning') < chunks.findIndex((chunk) => chunk.type === 'tool_call'));
  const [call] = callsOf(chunks);
  const followUp: PromptMessage[] = [...messages, { role: 'assistant', content: textOf(chunks), toolCalls: [{ id: call!.id, name: call!.name, arguments: call!.arguments }] }, { role: 'tool', toolCallId: call!.id, name: 'lookup', content: 'found it' }];
  // Thinking would need the calling turn's signed reasoning block, which prompts do not carry: without it
  // Anthropic models on Bedrock refuse the request (so does the local server), so the provider leaves thinking off.
  const answer = await run(followUp, [tool('lookup')], { thinking: 2048 });
  assert.match(textOf(answer), /^Tool lookup said: found it/);
  assert.equal(answer.filter((chunk) => chunk.type === 'reasoning').length, 0);
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

/** Streams a reply to these messages, no tools offered. */
async function ask(messages: PromptMessage[]): Promise<ProviderChunk[]> {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream({ endpoint, model: 'demo-fast', messages, parameters: {}, maxOutputTokens: 500, signal: new AbortController().signal })) chunks.push(chunk);
  return chunks;
}
/** The messages of the last request as they went over the wire (the SDK base64-encodes image bytes into the JSON). */
const wireMessages = () => (fake.lastBody() as { messages: Array<{ role: string; content: unknown }> }).messages;
const imageBlock = (image: { data: string }, format: string) => ({ image: { format, source: { bytes: image.data } } });

test('an attached image reaches the model as an image block (format and bytes) before the text', async () => {
  const chunks = await ask([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'describe the image!', images: [pngImage] }]);
  assert.equal(textOf(chunks), `I see 1 image(s): image/png ${pngBytes.length} bytes`);
  assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  assert.deepEqual(wireMessages(), [{ role: 'user', content: [imageBlock(pngImage, 'png'), { text: 'describe the image!' }] }]);
});

test('two images reach the model in order; merged user turns keep each message\'s images before its text', async () => {
  const two = await ask([{ role: 'user', content: 'describe the image', images: [pngImage, gifImage] }]);
  assert.equal(textOf(two), `I see 2 image(s): image/png ${pngBytes.length} bytes; image/gif ${gifBytes.length} bytes`);
  const merged = await ask([{ role: 'user', content: 'first look at this', images: [gifImage] }, { role: 'user', content: 'now Describe the Image', images: [pngImage] }]);
  assert.equal(textOf(merged), `I see 2 image(s): image/gif ${gifBytes.length} bytes; image/png ${pngBytes.length} bytes`);
  assert.deepEqual(wireMessages(), [{ role: 'user', content: [imageBlock(gifImage, 'gif'), { text: 'first look at this' }, imageBlock(pngImage, 'png'), { text: 'now Describe the Image' }] }]);
  // Without the words that ask for it, images change nothing in the demo model's reply.
  const plain = textOf(await ask([{ role: 'user', content: 'hello there [tokens=8]' }]));
  assert.equal(textOf(await ask([{ role: 'user', content: 'hello there [tokens=8]', images: [pngImage] }])), plain);
});

test('messages without images are text blocks, merged as before', async () => {
  await ask([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'one' }, { role: 'user', content: 'two [tokens=3]', images: [] }]);
  assert.deepEqual(wireMessages(), [{ role: 'user', content: [{ text: 'one\n\ntwo [tokens=3]' }] }]);
});

test('a malformed image is refused with a ValidationException, final, never retried', async () => {
  for (const [image, words] of [
    [mislabelledImage, /refused the request \(400\): The model returned the following errors: messages\.0\.content\.0\.image\.source\.base64\.data: Image does not match the provided media type image\/png/],
    // A type Converse has no format for goes without one: Bedrock's own validation refuses it.
    [bmpImage, /refused the request \(400\): 1 validation error detected: Value null at 'messages\.1\.member\.content\.1\.member\.image\.format' failed to satisfy constraint/],
  ] as const) {
    const before = fake.requestCount();
    await assert.rejects(ask([{ role: 'user', content: 'describe the image', images: [image] }]), (error) => isFinal(words)(error) && ((error as ApplicationFailure).details?.[0] as { name?: string }).name === 'ValidationException');
    assert.equal(fake.requestCount() - before, 1, 'one request: a ValidationException is not retried');
  }
  // A format Converse does not know, sent through the SDK itself.
  const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: origin, credentials: endpoint.aws!.credentials!, maxAttempts: 1, requestHandler: new NodeHttpHandler() });
  const bitmap = { image: { format: 'bmp' as 'png', source: { bytes: new Uint8Array(Buffer.from('BM fake bitmap')) } } };
  await assert.rejects(client.send(new ConverseCommand({ modelId: 'demo-fast', messages: [{ role: 'user', content: [bitmap, { text: 'describe the image' }] }] })), (error) => error instanceof Error && error.name === 'ValidationException' && /Value 'bmp' at 'messages\.1\.member\.content\.1\.member\.image\.format' failed to satisfy constraint: Member must satisfy enum value set: \[gif, jpeg, png, webp\]/.test(error.message));
  client.destroy();
});
