/**
 * A chat turn on the `google` endpoint, end to end: the real `@google/genai` SDK in the worker against the
 * local Gemini-protocol server; thoughts streamed as reasoning and saved as a `think` part; a stream dropped
 * mid-reply continued by instruction (Gemini does not extend a last model turn), seamlessly for the client.
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
const configPath = path.join(process.env.DATA_DIR ?? '.data/test', `google-${testRunId}.yaml`);

beforeAll(async () => {
  writeFileSync(configPath, ['endpoints:', '  google:', '    models:', '      default: [demo-fast]', '    titleModel: demo-fast', '    thinkingBudget: 1024', ''].join('\n'));
  stack = await startChatStack({ overrides: { CONFIG_PATH: configPath, GOOGLE_KEY: 'demo' } });
  token = (await registerAndLogin(createHttpClient(stack.app.baseUrl), 'gemini')).token;
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

const chat = (text: string) =>
  requestSse(`${stack.app.baseUrl}/api/agents/chat/google`, { method: 'POST', token, body: { endpoint: 'google', model: 'demo-fast', text, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID }, timeoutMs: 60_000 });

test('thoughts stream as on_reasoning_delta and are saved as a think part before the text', async () => {
  const result = await chat('think then answer [tokens=20]');
  assert.ok(result.events.some((event) => event.data?.event === 'on_reasoning_delta'));
  const final = finalEvent(result.events)!;
  const content = final.data.responseMessage.content as Array<{ type: string; text?: string }>;
  assert.deepEqual(content.map((part) => part.type), ['think', 'text']);
  assert.equal(final.data.responseMessage.text, deltaText(result.events));
  assert.equal(final.data.responseMessage.sender, 'Gemini');
});

test('a stream dropped mid-reply is retried and continued by instruction: one seamless reply', async () => {
  const key = randomUUID();
  const result = await chat(`drop me [tokens=40 rate=100] [drop=12 times=1 key=${key}]`);
  const text = deltaText(result.events);
  assert.equal(text.split(' ').length, 40);
  assert.equal(finalEvent(result.events)!.data.responseMessage.text, text);
  assert.equal(stack.provider.requestCount(key), 2);
  // By key: the new conversation's title request may already have followed the retry.
  assert.match(stack.provider.messagesOf(key)!.at(-1)!.content, /continue it from exactly where it stopped/i);
});
