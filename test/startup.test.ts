import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
let token: string;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  token = (await registerAndLogin(http)).token;
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

describe('startup routes', () => {
  test('GET /health answers OK as plain text', async () => {
    const response = await http.get('/health');
    assert.equal(response.status, 200);
    assert.equal(response.body, 'OK');
    assert.match(response.headers.get('content-type')!, /text\/plain/);
  });

  test('GET /api/config is public and reports registration and login switches', async () => {
    const response = await http.get('/api/config');
    assert.equal(response.status, 200);
    assert.equal(response.body.appTitle, 'durachat');
    assert.equal(response.body.registrationEnabled, true);
    assert.equal(response.body.emailLoginEnabled, true);
    assert.deepEqual(response.body.socialLogins, []);
  });

  test('GET /api/endpoints offers the keyless demo endpoint and no openAI endpoint without a key', async () => {
    const response = await http.get('/api/endpoints', { token });
    assert.equal(response.status, 200);
    assert.equal(response.body.demo.type, 'custom');
    assert.equal(response.body.demo.userProvide, false);
    assert.equal(response.body.demo.modelDisplayLabel, 'Demo');
    assert.equal(response.body.openAI, undefined);
    // The agents endpoint, with only the capabilities durachat runs (the YAML's defaults name more).
    assert.deepEqual(response.body.agents.capabilities, ['file_search', 'tools']);
    assert.equal(response.body.agents.disableBuilder, false);
    assert.equal((await http.get('/api/endpoints')).status, 401);
  });

  test('GET /api/models lists the demo models', async () => {
    const response = await http.get('/api/models', { token });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.demo, ['demo-fast', 'demo-slow']);
  });

  test('with OPENAI_API_KEY set the openAI endpoint and its models appear first', async () => {
    const withKey = await startTestApp({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' });
    try {
      const client = createHttpClient(withKey.baseUrl);
      const endpoints = await client.get('/api/endpoints', { token });
      assert.equal(endpoints.body.openAI.order, 0);
      assert.equal(endpoints.body.demo.order, 1);
      const models = await client.get('/api/models', { token });
      assert.ok(models.body.openAI.includes('gpt-4o-mini'));
    } finally {
      await withKey.close();
    }
  });

  test('security headers are set and CORS answers only configured origins', async () => {
    const allowed = await http.get('/health', { headers: { origin: 'http://localhost:3080' } });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:3080');
    assert.equal(allowed.headers.get('access-control-expose-headers'), 'x-stream-id');
    assert.equal(allowed.headers.get('x-content-type-options'), 'nosniff');
    const other = await http.get('/health', { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('an unknown route answers 404 in the common error shape', async () => {
    const response = await http.get('/api/nothing-here', { token });
    assert.equal(response.status, 404);
    assert.deepEqual(Object.keys(response.body).sort(), ['message', 'requestId']);
  });
});
