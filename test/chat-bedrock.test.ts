/**
 * A chat turn on the `bedrock` endpoint, end to end: the real Bedrock runtime SDK in the worker (SigV4-signed
 * ConverseStream, binary event stream) against the local server; reasoning content streamed and saved as a
 * `think` part; a stream dropped mid-reply, or failed with an in-band exception frame, continued by prefill
 * so the client sees one seamless reply.
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
const configPath = path.join(process.env.DATA_DIR ?? '.data/test', `bedrock-${testRunId}.yaml`);

beforeAll(async () => {
  writeFileSync(configPath, ['endpoints:', '  bedrock:', '    models:', '      default: [demo-fast]', '    titleModel: demo-fast', '    thinkingBudget: 2048', ''].join('\n'));
  stack = await startChatStack({
    overrides: { CONFIG_PATH: configPath, BEDROCK_AWS_DEFAULT_REGION: 'us-east-1', BEDROCK_AWS_ACCESS_KEY_ID: 'AKIADEMODEMODEMO', BEDROCK_AWS_SECRET_ACCESS_KEY: 'demo-secret' },
  });
  token = (await registerAndLogin(createHttpClient(stack.app.baseUrl), 'bedrock')).token;
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

const chat = (text: string) =>
  requestSse(`${stack.app.baseUrl}/api/agents/chat/bedrock`, { method: 'POST', token, body: { endpoint: 'bedrock', model: 'demo-fast', text, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID }, timeoutMs: 60_000 });

test('reasoning content streams as on_reasoning_delta and is saved as a think part before the text', async () => {
  const result = await chat('think then answer [tokens=20]');
  const reasoning = result.events.filter((event) => event.data?.event === 'on_reasoning_delta');
  assert.ok(reasoning.length > 0, 'reasoning deltas were streamed');
  const final = finalEvent(result.events)!;
  const content = final.data.responseMessage.content as Array<{ type: string; think?: string; text?: string }>;
  assert.deepEqual(content.map((part) => part.type), ['think', 'text']);
  assert.equal(content[1]!.text, deltaText(result.events));
  assert.equal(final.data.responseMessage.text.split(' ').length, 20);
  assert.equal(final.data.responseMessage.sender, 'AWS Bedrock');
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

test('a throttlingException frame mid-stream and a 429 before it are retried to one seamless reply', async () => {
  const key = randomUUID();
  const result = await chat(`throttle me [tokens=30 rate=100] [drop=9 exception=throttlingException times=1 key=${key}]`);
  const text = deltaText(result.events);
  assert.equal(text.split(' ').length, 30);
  assert.equal(finalEvent(result.events)!.data.responseMessage.text, text);
  assert.equal(stack.provider.requestCount(key), 2);
  const busyKey = randomUUID();
  const retried = await chat(`busy [tokens=10] [fail=429 times=1 key=${busyKey}]`);
  assert.equal(finalEvent(retried.events)!.data.responseMessage.text.split(' ').length, 10);
  assert.equal(stack.provider.requestCount(busyKey), 2);
});
