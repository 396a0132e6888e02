/**
 * User-provided keys (LibreChat's `/api/keys` and `apiKey: user_provided` endpoints): set, check and delete
 * them; chats on such an endpoint use the user's own key, are refused without one, and no key ever reaches
 * the Temporal history or the database in plaintext.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ErrorTypes, type TCheckUserKeyResponse, type TEndpointsConfig } from 'librechat-data-provider';
import { createEndpointCredentialResolver } from '../activities/providers/endpoint-credentials.ts';
import { createCredentialCipher } from '../shared/credential-cipher.ts';
import { findEndpoint, loadEndpointsConfig } from '../shared/endpoints-config.ts';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { startFakeProvider, type FakeProvider } from '../workers/demo-provider/openai-compatible-server.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData, testRunId } from './helpers/test-app.ts';

/** The key only the keyed provider accepts: what a user sets, and what must never leak. */
const USER_KEY = `sk-user-${randomUUID()}`;
const configPath = path.join(process.env.DATA_DIR ?? '.data/test', `user-keys-${testRunId}.yaml`);

let keyed: FakeProvider;
let stack: ChatStack;
let http: HttpClient;

beforeAll(async () => {
  keyed = await startFakeProvider({ apiKey: USER_KEY });
  writeFileSync(
    configPath,
    [
      'endpoints:',
      '  custom:',
      '    - name: demo',
      '      apiKey: demo',
      '      baseURL: ${DEMO_PROVIDER_URL}',
      '      models: { default: [demo-fast] }',
      '      titleConvo: false',
      '    - name: byok',
      '      apiKey: user_provided',
      `      baseURL: ${keyed.url}`,
      '      models: { default: [demo-fast] }',
      '      titleConvo: true',
      '    - name: byok-url',
      '      apiKey: user_provided',
      '      baseURL: user_provided',
      '      models: { default: [demo-fast] }',
      '      titleConvo: false',
      '',
    ].join('\n'),
  );
  // The user's base URL in these tests is the local fake server: private addresses allowed here; the
  // default (refused) has its own test below.
  stack = await startChatStack({ overrides: { CONFIG_PATH: configPath, USER_BASE_URL_ALLOW_PRIVATE: 'true' } });
  http = createHttpClient(stack.app.baseUrl);
});
afterAll(async () => {
  await stack.close();
  await keyed.close();
  await cleanUpTestData(stack.app.config);
});

function chat(token: string, endpoint: string, text: string) {
  return requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
    method: 'POST',
    token,
    body: { endpoint, model: 'demo-fast', text, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
  });
}

/**
 * The history as JSON with every payload's bytes as text (they are JSON), so a secret in any payload shows.
 * The client gives payload `data` as base64 strings (proto JSON) or as bytes.
 */
function readableHistory(history: unknown): string {
  return JSON.stringify(history, (key, value) => {
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (value?.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data).toString('utf8');
    return value;
  });
}

function inAnHour(): string {
  return new Date(Date.now() + 60 * 60 * 1000).toISOString();
}

describe('/api/keys', () => {
  test('set with an expiry, checked, replaced without one, deleted; the value never comes back', async () => {
    const user = await registerAndLogin(http, 'keys');
    const none: TCheckUserKeyResponse | { expiresAt: null } = { expiresAt: null };
    assert.deepEqual((await http.get('/api/keys?name=byok', { token: user.token })).body, none);

    const expiresAt = inAnHour();
    const put = await http.put('/api/keys', { token: user.token, body: { name: 'byok', value: USER_KEY, expiresAt } });
    assert.equal(put.status, 201);
    assert.equal(JSON.stringify(put.body ?? '').includes(USER_KEY), false);
    const checked = await http.get('/api/keys?name=byok', { token: user.token });
    assert.equal(checked.status, 200);
    assert.deepEqual(checked.body, { expiresAt });
    assert.equal(JSON.stringify(checked.body).includes(USER_KEY), false);

    // No expiry: LibreChat's 'never'.
    await http.put('/api/keys', { token: user.token, body: { name: 'byok', value: USER_KEY, expiresAt: null } });
    assert.deepEqual((await http.get('/api/keys?name=byok', { token: user.token })).body, { expiresAt: 'never' });

    const deleted = await http.delete('/api/keys/byok', { token: user.token });
    assert.equal(deleted.status, 204);
    assert.deepEqual((await http.get('/api/keys?name=byok', { token: user.token })).body, { expiresAt: null });
  });

  test('DELETE /api/keys?all=true removes every key of the user (and only with all=true)', async () => {
    const user = await registerAndLogin(http, 'keys-all');
    for (const name of ['byok', 'byok-url']) await http.put('/api/keys', { token: user.token, body: { name, value: USER_KEY, expiresAt: inAnHour() } });
    const refused = await http.delete('/api/keys', { token: user.token });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body, { error: 'Specify either all=true to delete.' });
    assert.notEqual((await http.get('/api/keys?name=byok-url', { token: user.token })).body.expiresAt, null);

    assert.equal((await http.delete('/api/keys?all=true', { token: user.token })).status, 204);
    for (const name of ['byok', 'byok-url']) assert.deepEqual((await http.get(`/api/keys?name=${name}`, { token: user.token })).body, { expiresAt: null });
  });

  test('another user neither sees nor deletes your key', async () => {
    const owner = await registerAndLogin(http, 'keys-owner');
    const other = await registerAndLogin(http, 'keys-other');
    await http.put('/api/keys', { token: owner.token, body: { name: 'byok', value: USER_KEY } });
    assert.deepEqual((await http.get('/api/keys?name=byok', { token: other.token })).body, { expiresAt: null });
    await http.delete('/api/keys/byok', { token: other.token });
    await http.delete('/api/keys?all=true', { token: other.token });
    assert.deepEqual((await http.get('/api/keys?name=byok', { token: owner.token })).body, { expiresAt: 'never' });
  });

  test('bad input answers 400 without echoing the value; every route needs a login', async () => {
    const user = await registerAndLogin(http, 'keys-bad');
    const cases: Array<[unknown, RegExp]> = [
      [{ value: USER_KEY }, /^name: required$/],
      [{ name: 'byok' }, /^value: required$/],
      [{ name: 'byok', value: USER_KEY, expiresAt: 'soon' }, /^expiresAt: /],
    ];
    for (const [body, message] of cases) {
      const response = await http.put('/api/keys', { token: user.token, body });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(response.body.message, message);
      assert.equal(JSON.stringify(response.body).includes(USER_KEY), false);
    }
    assert.equal((await http.get('/api/keys', { token: user.token })).status, 400);
    assert.equal((await http.get('/api/keys?name=byok')).status, 401);
    assert.equal((await http.put('/api/keys', { body: { name: 'byok', value: 'x' } })).status, 401);
    assert.equal((await http.delete('/api/keys/byok')).status, 401);
    assert.equal((await http.delete('/api/keys?all=true')).status, 401);
  });

  test('the key is stored encrypted: the raw document does not contain it', async () => {
    const user = await registerAndLogin(http, 'keys-raw');
    const value = JSON.stringify({ apiKey: USER_KEY, baseURL: keyed.url });
    await http.put('/api/keys', { token: user.token, body: { name: 'byok-url', value } });
    const raw = await mongoose.connection.db!.collection('keys').findOne({ userId: String(user.user.id ?? user.user._id), name: 'byok-url' });
    assert.ok(raw, 'the key document exists');
    const text = JSON.stringify(raw);
    assert.equal(text.includes(USER_KEY), false);
    assert.equal(text.includes(keyed.url), false);
    assert.match(raw.value, /^v1:/);
  });
});

describe('/api/endpoints', () => {
  test('reports userProvide (and userProvideURL) for user_provided endpoints, as LibreChat\'s client expects', async () => {
    const user = await registerAndLogin(http, 'keys-endpoints');
    const body = (await http.get('/api/endpoints', { token: user.token })).body as TEndpointsConfig & Record<string, any>;
    assert.equal(body.demo.userProvide, false);
    assert.equal(body.byok.userProvide, true);
    assert.equal(body.byok.userProvideURL, false);
    assert.equal(body['byok-url'].userProvide, true);
    assert.equal(body['byok-url'].userProvideURL, true);
    assert.equal(JSON.stringify(body).includes('user_provided'), false);
  });
});

describe('chat on a user_provided endpoint', () => {
  test('is refused before it starts without a key, with LibreChat\'s {"type":"no_user_key"}', async () => {
    const user = await registerAndLogin(http, 'chat-nokey');
    const before = keyed.requestCount();
    const result = await chat(user.token, 'byok', 'hello');
    assert.equal(result.status, 200);
    assert.equal(result.events[0]!.data.created, true);
    const error = result.events.at(-1)!;
    assert.equal(error.event, 'error');
    assert.deepEqual(JSON.parse(error.data.text), { type: ErrorTypes.NO_USER_KEY });
    assert.equal(keyed.requestCount(), before, 'the provider was never called');
  });

  test('is refused with {"type":"expired_user_key"} once the key has expired', async () => {
    const user = await registerAndLogin(http, 'chat-expired');
    const expiresAt = new Date(Date.now() + 300).toISOString();
    await http.put('/api/keys', { token: user.token, body: { name: 'byok', value: USER_KEY, expiresAt } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const result = await chat(user.token, 'byok', 'hello');
    const error = result.events.at(-1)!;
    assert.equal(error.event, 'error');
    assert.deepEqual(JSON.parse(error.data.text), { type: ErrorTypes.EXPIRED_USER_KEY, expiredAt: expiresAt, endpoint: 'byok' });
  });

  test('works with the user\'s key, and neither the workflow history nor the messages contain it', async () => {
    const user = await registerAndLogin(http, 'chat-key');
    await http.put('/api/keys', { token: user.token, body: { name: 'byok', value: USER_KEY, expiresAt: inAnHour() } });
    const result = await chat(user.token, 'byok', 'hello with my own key [tokens=12]');
    assert.equal(result.events.filter((event) => event.event === 'error').length, 0, JSON.stringify(result.events.at(-1)));
    const final = finalEvent(result.events)!.data;
    assert.equal(final.responseMessage.text, deltaText(result.events));
    assert.equal(final.responseMessage.text.split(' ').length, 12);

    const { client, connection } = createTemporalClient(stack.app.config.TEMPORAL_ADDRESS, stack.app.config.TEMPORAL_NAMESPACE);
    try {
      const handle = client.workflow.getHandle(`chat-${final.responseMessage.messageId}`);
      await handle.result();
      const history = readableHistory(await handle.fetchHistory());
      // The check would prove nothing if payloads were unreadable here: the input, with its endpoint, is.
      assert.match(history, /endpoint\\":\\"byok\\"/, 'the run input (naming only the endpoint) is in the history');
      assert.ok(history.includes('hello with my own key'), 'the user message is in the history');
      assert.equal(history.includes(USER_KEY), false);
      assert.equal(history.includes(USER_KEY.slice(8)), false);
    } finally {
      await connection.close();
    }
    // The title (a second model call, in its own activity) also went out with the user's key.
    const conversation = (await http.get(`/api/convos/${final.conversation.conversationId}`, { token: user.token })).body;
    assert.notEqual(conversation.title, 'New Chat');
    const messages = (await http.get(`/api/messages/${final.conversation.conversationId}`, { token: user.token })).body;
    assert.equal(JSON.stringify(messages).includes(USER_KEY), false);
  });

  test('another user\'s wrong key never borrows the first user\'s client', async () => {
    const first = await registerAndLogin(http, 'chat-first');
    const second = await registerAndLogin(http, 'chat-second');
    await http.put('/api/keys', { token: first.token, body: { name: 'byok', value: USER_KEY } });
    await http.put('/api/keys', { token: second.token, body: { name: 'byok', value: 'sk-wrong' } });
    const ok = await chat(first.token, 'byok', 'first [tokens=3]');
    assert.equal(ok.events.filter((event) => event.event === 'error').length, 0);
    const refused = await chat(second.token, 'byok', 'second [tokens=3]');
    const error = refused.events.at(-1)!;
    assert.equal(error.event, 'error');
    assert.match(error.data.text, /401/);
  });

  test('baseURL: user_provided takes the URL from the JSON value; without one the run is refused with no_base_url', async () => {
    const user = await registerAndLogin(http, 'chat-url');
    await http.put('/api/keys', { token: user.token, body: { name: 'byok-url', value: JSON.stringify({ apiKey: USER_KEY }) } });
    const refused = await chat(user.token, 'byok-url', 'hello');
    assert.deepEqual(JSON.parse(refused.events.at(-1)!.data.text), { type: ErrorTypes.NO_BASE_URL });

    await http.put('/api/keys', { token: user.token, body: { name: 'byok-url', value: JSON.stringify({ apiKey: USER_KEY, baseURL: keyed.url }) } });
    const before = keyed.requestCount();
    const result = await chat(user.token, 'byok-url', 'hello [tokens=4]');
    assert.equal(result.events.filter((event) => event.event === 'error').length, 0, JSON.stringify(result.events.at(-1)));
    assert.equal(finalEvent(result.events)!.data.responseMessage.text.split(' ').length, 4);
    assert.ok(keyed.requestCount() > before, 'the user\'s base URL was called');
  });

  test('by default a user base URL on a private or local address is refused, by the API and by the worker, before any call', async () => {
    const strict = await startChatStack({ worker: false, overrides: { ...stack.environment, CONFIG_PATH: configPath, USER_BASE_URL_ALLOW_PRIVATE: 'false' } });
    try {
      const user = await registerAndLogin(http, 'chat-private-url');
      await http.put('/api/keys', { token: user.token, body: { name: 'byok-url', value: JSON.stringify({ apiKey: USER_KEY, baseURL: keyed.url }) } });
      const before = keyed.requestCount();
      const refused = await requestSse(`${strict.app.baseUrl}/api/agents/chat/custom`, { method: 'POST', token: user.token, body: { endpoint: 'byok-url', model: 'demo-fast', text: 'hello', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID } });
      const problem = JSON.parse(refused.events.at(-1)!.data.text);
      assert.equal(problem.type, ErrorTypes.INVALID_BASE_URL);
      assert.match(problem.message, /private or local address/);
      // The worker checks again at call time (a key changed after the run started, or an API configured otherwise).
      const endpoint = findEndpoint(loadEndpointsConfig(strict.app.config), 'byok-url')!;
      const resolve = createEndpointCredentialResolver(createCredentialCipher(strict.app.config.CREDS_KEY));
      await assert.rejects(resolve(endpoint, user.user.id), (error: Error) => /invalid_base_url/.test(error.message) && /private or local/.test(error.message));
      assert.equal(keyed.requestCount(), before, 'the private address was never called');
    } finally {
      await strict.close();
    }
  });
});
