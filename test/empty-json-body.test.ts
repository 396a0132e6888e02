/** LibreChat's client posts body-less requests as `Content-Type: application/json` with an empty body. */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

test('an empty JSON body is no body: body-less routes work, routes that need one say what is missing', async () => {
  const http = createHttpClient(app.baseUrl);
  const user = await registerAndLogin(http, 'empty');
  const logout = await http.post('/api/auth/logout', { token: user.token, rawBody: '', headers: { 'content-type': 'application/json' } });
  assert.equal(logout.status, 200);
  const title = await http.post('/api/convos/gen_title', { token: user.token, rawBody: '', headers: { 'content-type': 'application/json' } });
  assert.equal(title.status, 400);
  assert.match(title.body.message, /conversationId/);
  const broken = await http.post('/api/convos/gen_title', { token: user.token, rawBody: '{"conversationId":', headers: { 'content-type': 'application/json' } });
  assert.equal(broken.status, 400);
});
