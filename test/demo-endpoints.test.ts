/**
 * The default librechat.yaml's keyless demo endpoints: the same demo server through the OpenAI, Anthropic
 * and Google SDKs, listed for the client as custom endpoints, each answering through its own wire protocol.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;
let token: string;

beforeAll(async () => {
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
  token = (await registerAndLogin(http, 'demos')).token;
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

test('the client sees four demo endpoints as custom endpoints, with their models', async () => {
  const endpoints = (await http.get('/api/endpoints', { token })).body;
  for (const name of ['demo', 'demo-claude', 'demo-bedrock', 'demo-gemini']) assert.equal(endpoints[name]?.type, 'custom', name);
  const models = (await http.get('/api/models', { token })).body;
  assert.deepEqual(models['demo-claude'], ['demo-fast', 'demo-slow']);
});

for (const [endpoint, path, sender] of [
  ['demo', '/v1/chat/completions', 'Demo'],
  ['demo-claude', '/v1/messages', 'Demo (Anthropic SDK)'],
  ['demo-bedrock', '/model/demo-fast/converse-stream', 'Demo (Bedrock SDK)'],
  ['demo-gemini', '/v1beta/models/demo-fast:streamGenerateContent', 'Demo (Google SDK)'],
] as const) {
  test(`${endpoint} answers through ${path}`, async () => {
    let seenPath: string | undefined;
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token,
      body: { endpoint, model: 'demo-fast', text: `which protocol [tokens=12]`, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
      // Read the provider's path while the reply streams (the title request that follows uses another call).
      disconnectWhen: (event) => {
        if (event.data?.event === 'on_message_delta') seenPath ??= stack.provider.lastPath();
        return false;
      },
    });
    const final = finalEvent(result.events)!;
    assert.equal(final.data.responseMessage.text, deltaText(result.events));
    assert.equal(final.data.responseMessage.sender, sender);
    assert.equal(seenPath, path);
  });
}
