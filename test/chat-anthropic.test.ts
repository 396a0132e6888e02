/**
 * A chat turn on the `anthropic` endpoint, end to end: the real Anthropic SDK in the worker against the
 * local Messages-protocol server; extended thinking streamed as reasoning and saved as a `think` part; a
 * stream dropped mid-reply continued by prefill, so the client sees one seamless reply.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData, testRunId } from './helpers/test-app.ts';

let stack: ChatStack;
let token: string;
const configPath = path.join(process.env.DATA_DIR ?? '.data/test', `anthropic-${testRunId}.yaml`);

beforeAll(async () => {
  writeFileSync(configPath, ['endpoints:', '  anthropic:', '    models:', '      default: [demo-fast]', '    titleModel: demo-fast', '    thinkingBudget: 2048', ''].join('\n'));
  stack = await startChatStack({ overrides: { CONFIG_PATH: configPath, ANTHROPIC_API_KEY: 'demo' } });
  token = (await registerAndLogin(createHttpClient(stack.app.baseUrl), 'claude')).token;
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

const chat = (text: string) =>
  requestSse(`${stack.app.baseUrl}/api/agents/chat/anthropic`, { method: 'POST', token, body: { endpoint: 'anthropic', model: 'demo-fast', text, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID }, timeoutMs: 60_000 });

test('thinking streams as on_reasoning_delta and is saved as a think part before the text', async () => {
  const result = await chat('think then answer [tokens=20]');
  const reasoning = result.events.filter((event) => event.data?.event === 'on_reasoning_delta');
  assert.ok(reasoning.length > 0, 'reasoning deltas were streamed');
  const final = finalEvent(result.events)!;
  const content = final.data.responseMessage.content as Array<{ type: string; think?: string; text?: string }>;
  assert.deepEqual(content.map((part) => part.type), ['think', 'text']);
  assert.equal(content[1]!.text, deltaText(result.events));
  assert.equal(final.data.responseMessage.text.split(' ').length, 20);
  assert.equal(final.data.responseMessage.sender, 'Claude');
});

test('a stream dropped mid-reply is retried and continued by prefill: one seamless reply', async () => {
  const key = randomUUID();
  const result = await chat(`drop me [tokens=40 rate=100] [drop=12 times=1 key=${key}]`);
  const final = finalEvent(result.events)!;
  const text = deltaText(result.events);
  assert.equal(text.split(' ').length, 40);
  assert.equal(final.data.responseMessage.text, text);
  assert.equal(stack.provider.requestCount(key), 2);
  // The retry's last message was the partial reply itself (a prefill), not an instruction. By key: the new
  // conversation's title request may already have followed it.
  assert.equal(stack.provider.messagesOf(key)!.at(-1)!.role, 'assistant');
});
