import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import jwt from 'jsonwebtoken';
import { cookieValue, createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
/** Registered before anything else in this file's fresh database, so it is the first user. */
let admin: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  admin = await registerAndLogin(http, 'first');
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

describe('register', () => {
  test('the first user becomes ADMIN, later users USER', async () => {
    const second = await registerAndLogin(http, 'second');
    assert.equal(admin.user.role, 'ADMIN');
    assert.equal(second.user.role, 'USER');
  });

  test('refuses a short password, a mismatched confirmation and a bad email with 400 naming the field', async () => {
    const short = await http.post('/api/auth/register', { body: { name: 'a', email: 'a@example.com', password: 'short', confirm_password: 'short' } });
    assert.equal(short.status, 400);
    assert.match(short.body.message, /^password:/);
    const mismatch = await http.post('/api/auth/register', { body: { name: 'a', email: 'a@example.com', password: 'long enough 1', confirm_password: 'long enough 2' } });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.body.message, /confirm_password: Passwords do not match/);
    const badEmail = await http.post('/api/auth/register', { body: { name: 'a', email: 'not-an-email', password: 'long enough 1', confirm_password: 'long enough 1' } });
    assert.equal(badEmail.status, 400);
    assert.match(badEmail.body.message, /^email:/);
    assert.ok(badEmail.body.requestId, 'errors carry a request id');
  });

  test('an existing email gets the same answer and does not create a second account or change the password', async () => {
    const user = await registerAndLogin(http, 'dup');
    const again = await http.post('/api/auth/register', { body: { name: 'x', email: user.email, password: 'another password', confirm_password: 'another password' } });
    assert.equal(again.status, 200);
    const oldPassword = await http.post('/api/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(oldPassword.status, 200);
    const newPassword = await http.post('/api/auth/login', { body: { email: user.email, password: 'another password' } });
    assert.equal(newPassword.status, 404);
  });

  test('is refused with 403 when ALLOW_REGISTRATION=false', async () => {
    const closed = await startTestApp({ ALLOW_REGISTRATION: 'false' });
    try {
      const response = await createHttpClient(closed.baseUrl).post('/api/auth/register', {
        body: { name: 'n', email: 'closed@example.com', password: 'long enough 1', confirm_password: 'long enough 1' },
      });
      assert.equal(response.status, 403);
      assert.equal(response.body.message, 'Registration is not allowed.');
    } finally {
      await closed.close();
    }
  });
});

describe('login', () => {
  test('answers {token, user} without secrets and sets the refresh cookies', async () => {
    const user = await registerAndLogin(http, 'login');
    const response = await http.post('/api/auth/login', { body: { email: user.email.toUpperCase(), password: user.password } });
    assert.equal(response.status, 200);
    assert.equal(typeof response.body.token, 'string');
    assert.equal(response.body.user.email, user.email);
    assert.equal(response.body.user.password, undefined);
    assert.equal(response.body.user.id, response.body.user._id);
    const refresh = response.setCookies.find((cookie) => cookie.startsWith('refreshToken='))!;
    assert.match(refresh, /HttpOnly/i);
    assert.match(refresh, /SameSite=Strict/i);
    assert.ok(cookieValue(response.setCookies, 'token_provider')?.endsWith('librechat'));
    const claims = jwt.decode(response.body.token) as Record<string, unknown>;
    assert.deepEqual(Object.keys(claims).sort(), ['email', 'exp', 'iat', 'id', 'provider', 'username']);
  });

  test('a wrong password and an unknown email both answer 404 with the same message', async () => {
    const user = await registerAndLogin(http, 'wrongpw');
    const wrong = await http.post('/api/auth/login', { body: { email: user.email, password: 'not the password' } });
    const unknown = await http.post('/api/auth/login', { body: { email: 'nobody@example.com', password: 'whatever12' } });
    assert.equal(wrong.status, 404);
    assert.equal(unknown.status, 404);
    assert.equal(wrong.body.message, unknown.body.message);
    assert.equal(wrong.setCookies.length, 0);
  });
});

describe('access tokens', () => {
  test('GET /api/user answers the user for a valid token and 401 without one', async () => {
    const user = await registerAndLogin(http, 'me');
    const me = await http.get('/api/user', { token: user.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.email, user.email);
    assert.equal(me.body.password, undefined);
    assert.equal((await http.get('/api/user')).status, 401);
  });

  test('a tampered token, a token signed with another secret and an expired token are refused with 401', async () => {
    const user = await registerAndLogin(http, 'tamper');
    const [header, payload, signature] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, email: 'admin@example.com' })).toString('base64url');
    const tampered = await http.get('/api/user', { token: `${header}.${forgedPayload}.${signature}` });
    assert.equal(tampered.status, 401);
    const otherSecret = jwt.sign({ id: user.user.id }, 'x'.repeat(40), { expiresIn: 60 });
    assert.equal((await http.get('/api/user', { token: otherSecret })).status, 401);
    const expired = jwt.sign({ id: user.user.id, exp: Math.floor(Date.now() / 1000) - 10 }, app.config.JWT_SECRET);
    const expiredResponse = await http.get('/api/user', { token: expired });
    assert.equal(expiredResponse.status, 401);
    assert.deepEqual(Object.keys(expiredResponse.body).sort(), ['message', 'requestId']);
    const noneAlgorithm = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    assert.equal((await http.get('/api/user', { token: noneAlgorithm })).status, 401);
  });
});

describe('refresh and logout', () => {
  test('refresh without a cookie answers 200 with a plain message', async () => {
    const response = await http.post('/api/auth/refresh');
    assert.equal(response.status, 200);
    assert.equal(response.body, 'Refresh token not provided');
  });

  test('refresh rotates the token; reusing the old one is refused and ends the session', async () => {
    const user = await registerAndLogin(http, 'rotate');
    const first = await http.post('/api/auth/refresh', { cookie: user.refreshCookie });
    assert.equal(first.status, 200);
    assert.equal(typeof first.body.token, 'string');
    assert.equal(first.body.user.id, user.user.id);
    const rotatedCookie = cookieValue(first.setCookies, 'refreshToken')!;
    assert.ok(rotatedCookie);
    assert.notEqual(rotatedCookie, user.refreshCookie);
    assert.equal((await http.get('/api/user', { token: first.body.token })).status, 200);

    const reused = await http.post('/api/auth/refresh', { cookie: user.refreshCookie });
    assert.equal(reused.status, 401);
    assert.match(reused.body.message, /already used/);
    // The thief's replay ended the session: the legitimate, newer token is dead too.
    const afterReuse = await http.post('/api/auth/refresh', { cookie: rotatedCookie });
    assert.equal(afterReuse.status, 401);
  });

  test('a tampered refresh token is refused with 401', async () => {
    const user = await registerAndLogin(http, 'tamperrefresh');
    const response = await http.post('/api/auth/refresh', { cookie: `${user.refreshCookie.slice(0, -3)}abc` });
    assert.equal(response.status, 401);
  });

  test('logout ends the session and clears both cookies', async () => {
    const user = await registerAndLogin(http, 'logout');
    const response = await http.post('/api/auth/logout', { cookie: user.refreshCookie, token: user.token });
    assert.equal(response.status, 200);
    assert.ok(response.setCookies.some((cookie) => cookie.startsWith('refreshToken=;')));
    assert.ok(response.setCookies.some((cookie) => cookie.startsWith('token_provider=;')));
    assert.equal((await http.post('/api/auth/refresh', { cookie: user.refreshCookie })).status, 401);
  });
});

describe('roles', () => {
  test('a user reads their own role; only an admin reads another', async () => {
    const user = await registerAndLogin(http, 'roleuser');
    const own = await http.get('/api/roles/user', { token: user.token });
    assert.equal(own.status, 200);
    assert.equal(own.body.name, 'USER');
    assert.equal(own.body.permissions.BOOKMARKS.USE, true);
    assert.equal((await http.get('/api/roles/admin', { token: user.token })).status, 403);
    assert.equal((await http.get('/api/roles/user', { token: admin.token })).status, 200);
    assert.equal((await http.get('/api/roles/admin', { token: admin.token })).body.name, 'ADMIN');
    assert.equal((await http.get('/api/roles/nosuchrole', { token: admin.token })).status, 404);
    assert.equal((await http.get('/api/roles/user')).status, 401);
  });
});
