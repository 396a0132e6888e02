import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { createHttpClient, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;

beforeAll(async () => {
  app = await startTestApp({ LOGIN_MAX: '3', LOGIN_WINDOW: '5', REGISTER_MAX: '2', REGISTER_WINDOW: '60' });
  http = createHttpClient(app.baseUrl);
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

test('login attempts past LOGIN_MAX per window answer 429 with a message and Retry-After', async () => {
  const attempt = () => http.post('/api/auth/login', { body: { email: 'nobody@example.com', password: 'whatever12' } });
  for (let index = 0; index < 3; index += 1) assert.equal((await attempt()).status, 404);
  const limited = await attempt();
  assert.equal(limited.status, 429);
  assert.equal(limited.body.message, 'Too many login attempts, please try again after 5 minutes.');
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(retryAfter > 0 && retryAfter <= 300, `retry-after ${retryAfter}`);
});

test('the limit lives in Redis: a second API process sharing it is limited too', async () => {
  const second = await startTestApp({ LOGIN_MAX: '3', REGISTER_MAX: '2', REDIS_KEY_PREFIX: app.config.REDIS_KEY_PREFIX, MONGO_URI: app.config.MONGO_URI });
  try {
    const response = await createHttpClient(second.baseUrl).post('/api/auth/login', { body: { email: 'nobody@example.com', password: 'whatever12' } });
    assert.equal(response.status, 429);
  } finally {
    await second.close();
  }
});

test('registrations past REGISTER_MAX per window answer 429', async () => {
  const register = (index: number) =>
    http.post('/api/auth/register', { body: { name: 'n', email: `limit${index}@example.com`, password: 'long enough 1', confirm_password: 'long enough 1' } });
  assert.equal((await register(1)).status, 200);
  assert.equal((await register(2)).status, 200);
  const limited = await register(3);
  assert.equal(limited.status, 429);
  assert.match(limited.body.message, /Too many accounts created/);
});
