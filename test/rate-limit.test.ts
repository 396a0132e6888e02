import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
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

/** A separate app on its own Redis prefix (under this file's, so cleanUpTestData removes it), closed after `run`. */
async function withApp(name: string, overrides: Record<string, string>, run: (client: HttpClient, started: TestApp) => Promise<void>) {
  const started = await startTestApp({ REDIS_KEY_PREFIX: `${app.config.REDIS_KEY_PREFIX}${name}:`, ...overrides });
  try {
    await run(createHttpClient(started.baseUrl), started);
  } finally {
    await started.close();
  }
}

let unknownEmailCounter = 0;
/** A failed login for a fresh unknown email (so the per-account limit stays out of the way), optionally via X-Forwarded-For. */
function failedLogin(client: HttpClient, forwardedFor?: string) {
  unknownEmailCounter += 1;
  const headers = forwardedFor ? { 'x-forwarded-for': forwardedFor } : undefined;
  return client.post('/api/auth/login', { body: { email: `nobody-${unknownEmailCounter}@example.com`, password: 'whatever12' }, headers });
}

function login(client: HttpClient, email: string, password: string, forwardedFor: string) {
  return client.post('/api/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': forwardedFor } });
}

test('behind a trusted proxy, X-Forwarded-For picks the per-IP bucket: two client IPs get separate budgets', async () => {
  await withApp('trusted', { TRUST_PROXY: '127.0.0.1', LOGIN_MAX: '3' }, async (client) => {
    for (let index = 0; index < 3; index += 1) assert.equal((await failedLogin(client, '203.0.113.1')).status, 404);
    assert.equal((await failedLogin(client, '203.0.113.1')).status, 429);
    assert.equal((await failedLogin(client, '203.0.113.2')).status, 404, 'another client behind the proxy has its own budget');
    // The proxy appends the address it saw; what the client wrote to the left of it is not believed.
    assert.equal((await failedLogin(client, '198.51.100.7, 203.0.113.1')).status, 429);
  });
});

test('without a trusted proxy, X-Forwarded-For is ignored: the socket address counts, spoofed values cannot dodge the limit', async () => {
  for (const [name, trustProxy] of [['untrusted-unset', ''], ['untrusted-other', '10.0.0.1']] as const) {
    await withApp(name, { TRUST_PROXY: trustProxy, LOGIN_MAX: '3' }, async (client) => {
      for (let index = 0; index < 3; index += 1) assert.equal((await failedLogin(client, `203.0.113.${10 + index}`)).status, 404);
      const limited = await failedLogin(client, '203.0.113.99');
      assert.equal(limited.status, 429, `TRUST_PROXY=${trustProxy || '(unset)'}`);
    });
  }
});

test('a counter left without expiry gets one on the next hit, so it cannot block an IP forever', async () => {
  await withApp('ttl', { TRUST_PROXY: '127.0.0.1', LOGIN_MAX: '3', LOGIN_WINDOW: '5' }, async (client, started) => {
    const redis = createRedisClient(started.config.REDIS_URI, 'test-ttl');
    try {
      const key = createRedisKeys(started.config.REDIS_KEY_PREFIX).rateLimit('login', '203.0.113.50');
      // What a crash between the old INCR and PEXPIRE left behind: a count over the limit with no TTL.
      await redis.set(key, '100');
      assert.equal(await redis.pttl(key), -1);
      const limited = await failedLogin(client, '203.0.113.50');
      assert.equal(limited.status, 429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter > 0 && retryAfter <= 300, `retry-after ${retryAfter}`);
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 0 && ttl <= 300_000, `ttl ${ttl}`);
    } finally {
      await redis.quit();
    }
  });
});

test('failed logins per account are limited whatever the IP; other accounts are not affected', async () => {
  await withApp('account', { TRUST_PROXY: '127.0.0.1', LOGIN_ACCOUNT_MAX: '3', LOGIN_ACCOUNT_WINDOW: '15' }, async (client) => {
    const target = await registerAndLogin(client, 'target');
    const bystander = await registerAndLogin(client, 'bystander');
    for (let index = 1; index <= 3; index += 1) assert.equal((await login(client, target.email, 'wrong password', `198.51.100.${index}`)).status, 404);
    // From a fresh address, with a differently cased email and even the right password: refused.
    const limited = await login(client, target.email.toUpperCase(), target.password, '198.51.100.20');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.message, 'Too many failed login attempts for this account, please try again after 15 minutes.');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 900, `retry-after ${retryAfter}`);
    assert.equal(limited.setCookies.length, 0);
    assert.equal((await login(client, bystander.email, bystander.password, '198.51.100.1')).status, 200);
  });
});

test('successful logins do not count against the account limit', async () => {
  await withApp('account-success', { TRUST_PROXY: '127.0.0.1', LOGIN_ACCOUNT_MAX: '3' }, async (client) => {
    const user = await registerAndLogin(client, 'succeeds');
    assert.equal((await login(client, user.email, 'wrong password', '198.51.100.1')).status, 404);
    assert.equal((await login(client, user.email, 'wrong password', '198.51.100.2')).status, 404);
    for (let index = 0; index < 5; index += 1) assert.equal((await login(client, user.email, user.password, `198.51.100.${10 + index}`)).status, 200);
    assert.equal((await login(client, user.email, 'wrong password', '198.51.100.3')).status, 404, 'the third failure is still within the budget');
    assert.equal((await login(client, user.email, user.password, '198.51.100.4')).status, 429);
  });
});
