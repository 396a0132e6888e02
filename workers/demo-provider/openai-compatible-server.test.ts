import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import OpenAI from 'openai';
import { CONTINUE_INSTRUCTION } from '../../activities/providers/provider.ts';
import { startFakeProvider, type FakeProvider } from './openai-compatible-server.ts';

let provider: FakeProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startFakeProvider();
  client = new OpenAI({ apiKey: 'demo', baseURL: provider.url, maxRetries: 0 });
});
afterAll(() => provider.close());

test('the real openai SDK streams a reply and reads usage from the last chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'demo-fast',
    messages: [{ role: 'user', content: 'hello [tokens=20]' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(finish, 'stop');
  assert.equal(usage?.completion_tokens, 20);
  assert.equal(text.split(' ').length, 20);
  const again = await client.chat.completions.create({ model: 'demo-fast', messages: [{ role: 'user', content: 'hello [tokens=20]' }] });
  assert.equal(again.choices[0]!.message.content, text, 'the same request gets the same reply');
});

test('an instruction to continue a partial answer gets exactly the rest of the reply', async () => {
  const messages = [{ role: 'user' as const, content: 'continue me [tokens=30]' }];
  const full = (await client.chat.completions.create({ model: 'demo-fast', messages })).choices[0]!.message.content!;
  const partial = full.slice(0, 47);
  const rest = (
    await client.chat.completions.create({ model: 'demo-fast', messages: [...messages, { role: 'assistant', content: partial }, { role: 'user', content: CONTINUE_INSTRUCTION }] })
  ).choices[0]!.message.content!;
  assert.equal(partial + rest, full);
});

test('like OpenAI, a trailing assistant message is not a prefix: the whole answer comes again', async () => {
  const messages = [{ role: 'user' as const, content: 'prefill me [tokens=30]' }];
  const full = (await client.chat.completions.create({ model: 'demo-fast', messages })).choices[0]!.message.content!;
  const again = (await client.chat.completions.create({ model: 'demo-fast', messages: [...messages, { role: 'assistant', content: full.slice(0, 47) }] })).choices[0]!.message.content!;
  assert.equal(again, full);
});

test('fail and drop directives produce OpenAI errors the SDK classifies', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'demo-fast', messages: [{ role: 'user', content: 'x [fail=429 times=1 key=f1]' }] }),
    (error) => error instanceof OpenAI.RateLimitError,
  );
  const second = await client.chat.completions.create({ model: 'demo-fast', messages: [{ role: 'user', content: 'x [fail=429 times=1 key=f1] [tokens=3]' }] });
  assert.equal(second.choices[0]!.message.content!.split(' ').length, 3);
  await assert.rejects(
    client.chat.completions.create({ model: 'demo-fast', messages: [{ role: 'user', content: 'x [fail=401 key=f2]' }] }),
    (error) => error instanceof OpenAI.AuthenticationError,
  );
  const dropping = await client.chat.completions.create({ model: 'demo-fast', stream: true, messages: [{ role: 'user', content: 'x [drop=5 key=d1]' }] });
  await assert.rejects(async () => {
    for await (const _chunk of dropping) {
      // reading until the connection drops
    }
  });
  assert.equal(provider.requestCount('d1'), 1);
});

test('demo-fast streams a plain message at a real model\'s pace; a tokens directive stays instant', async () => {
  const startedAt = Date.now();
  const stream = await client.chat.completions.create({ model: 'demo-fast', messages: [{ role: 'user', content: 'hello there' }], stream: true });
  let chunks = 0;
  for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) chunks += 1;
  assert.equal(chunks, 300);
  assert.ok(Date.now() - startedAt >= 1500, 'about 2 s for 300 tokens, not instant');
  const instantAt = Date.now();
  await client.chat.completions.create({ model: 'demo-fast', messages: [{ role: 'user', content: 'quick [tokens=300]' }] });
  assert.ok(Date.now() - instantAt < 1500);
});

test('a tool call streams as OpenAI does: named in its first delta, then arguments in pieces under its index', async () => {
  const tools = ['lookup', 'fetch'].map((name) => ({ type: 'function' as const, function: { name, parameters: { type: 'object', properties: { query: { type: 'string' } } } } }));
  const messages = [{ role: 'user' as const, content: 'find the capital [tool=lookup,fetch]' }];
  const stream = await client.chat.completions.create({ model: 'demo-fast', messages, tools, stream: true, stream_options: { include_usage: true } });
  const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
  const finishes: string[] = [];
  let usageLast = false;
  for await (const chunk of stream) {
    deltas.push(...(chunk.choices[0]?.delta?.tool_calls ?? []));
    if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    usageLast = Boolean(chunk.usage) && chunk.choices.length === 0;
  }
  assert.deepEqual(finishes, ['tool_calls']);
  assert.ok(usageLast, 'usage comes last, after the finish reason');
  for (const [index, name] of ['lookup', 'fetch'].entries()) {
    const [first, ...rest] = deltas.filter((delta) => delta.index === index);
    assert.match(first!.id!, /^call_\w+$/);
    assert.deepEqual({ type: first!.type, name: first!.function?.name, arguments: first!.function?.arguments }, { type: 'function', name, arguments: '' });
    assert.ok(rest.length > 1 && rest.every((delta) => delta.id === undefined && delta.function?.name === undefined), 'later deltas carry only arguments');
    assert.deepEqual(JSON.parse(rest.map((delta) => delta.function!.arguments).join('')), { query: 'find the capital', position: index });
  }
  const whole = await client.chat.completions.create({ model: 'demo-fast', messages, tools });
  assert.equal(whole.choices[0]!.finish_reason, 'tool_calls');
  assert.deepEqual(whole.choices[0]!.message.tool_calls?.map((call) => call.id), [...new Set(deltas.map((delta) => delta.id).filter(Boolean))], 'the same calls, with the same ids');
});
