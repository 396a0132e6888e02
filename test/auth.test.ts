import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import bcrypt from 'bcryptjs';
import type { FastifyBaseLogger } from 'fastify';
import jwt from 'jsonwebtoken';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthService } from '../api/services/auth-service.ts';
import { createTokenService } from '../api/services/token-service.ts';
import { cookieValue, createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

const silentLog = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child: () => silentLog, level: 'silent' } as unknown as FastifyBaseLogger;

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

  test('hashes the password for an existing email too, so timing does not reveal who has an account', async () => {
    const hashed: string[] = [];
    const service = createAuthService({
      config: app.config,
      tokens: createTokenService(app.config),
      log: silentLog,
      hashPassword: async (password) => {
        hashed.push(password);
        return bcrypt.hash(password, 4);
      },
    });
    const email = `hashed-${Date.now()}@example.com`;
    await service.register({ name: 'n', email, password: 'first password' });
    await service.register({ name: 'n', email: email.toUpperCase(), password: 'second password' });
    assert.deepEqual(hashed, ['first password', 'second password']);
  });

  test('an existing email takes about as long to answer as a new one', async () => {
    const existing = await registerAndLogin(http, 'timing');
    const register = async (email: string) => {
      const started = performance.now();
      const response = await http.post('/api/auth/register', { body: { name: 't', email, password: 'long enough 1', confirm_password: 'long enough 1' } });
      assert.equal(response.status, 200);
      return performance.now() - started;
    };
    const newTimes: number[] = [];
    const existingTimes: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      newTimes.push(await register(`timing-new-${round}-${Date.now()}@example.com`));
      existingTimes.push(await register(existing.email));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    // Generous: bcrypt dominates both paths; without it the existing-email path answers several times faster.
    assert.ok(median(existingTimes) >= 0.5 * median(newTimes), `existing ${median(existingTimes).toFixed(1)} ms, new ${median(newTimes).toFixed(1)} ms`);
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
  test('is refused with 403 when ALLOW_EMAIL_LOGIN=false; registration still follows ALLOW_REGISTRATION', async () => {
    const noEmailLogin = await startTestApp({ ALLOW_EMAIL_LOGIN: 'false' });
    try {
      const client = createHttpClient(noEmailLogin.baseUrl);
      const credentials = { email: `nologin-${Date.now()}@example.com`, password: 'long enough 1' };
      const registered = await client.post('/api/auth/register', { body: { name: 'n', ...credentials, confirm_password: credentials.password } });
      assert.equal(registered.status, 200);
      const refused = await client.post('/api/auth/login', { body: credentials });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.message, 'Email login is not allowed.');
      assert.equal(refused.setCookies.length, 0);
      assert.equal((await client.get('/api/config')).body.emailLoginEnabled, false);
    } finally {
      await noEmailLogin.close();
    }
  });

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
    assert.deepEqual(Object.keys(claims).sort(), ['aud', 'email', 'exp', 'iat', 'id', 'provider', 'username']);
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
    // Signed with the server's own secret but not an access token (the `{id}` a RAG API gets): refused.
    const notAnAccessToken = jwt.sign({ id: user.user.id }, app.config.JWT_SECRET, { expiresIn: 60 });
    assert.equal((await http.get('/api/user', { token: notAnAccessToken })).status, 401);
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

  test('refresh rotates the token; within the grace window the old token answers with the same new one', async () => {
    const user = await registerAndLogin(http, 'rotate');
    const first = await http.post('/api/auth/refresh', { cookie: user.refreshCookie });
    assert.equal(first.status, 200);
    assert.equal(typeof first.body.token, 'string');
    assert.equal(first.body.user.id, user.user.id);
    const rotatedCookie = cookieValue(first.setCookies, 'refreshToken')!;
    assert.ok(rotatedCookie);
    assert.notEqual(rotatedCookie, user.refreshCookie);
    assert.equal((await http.get('/api/user', { token: first.body.token })).status, 200);

    // A tab that missed the first answer presents the old token again: it gets the same new token.
    const again = await http.post('/api/auth/refresh', { cookie: user.refreshCookie });
    assert.equal(again.status, 200);
    assert.equal(cookieValue(again.setCookies, 'refreshToken'), rotatedCookie);
    assert.equal((await http.get('/api/user', { token: again.body.token })).status, 200);
    assert.equal((await http.post('/api/auth/refresh', { cookie: rotatedCookie })).status, 200);
  });

  test('two refreshes at once with the same cookie both succeed with the same new token, and the session lives on', async () => {
    const user = await registerAndLogin(http, 'twotabs');
    const answers = await Promise.all([1, 2, 3].map(() => http.post('/api/auth/refresh', { cookie: user.refreshCookie })));
    assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 200]);
    const cookies = new Set(answers.map((answer) => cookieValue(answer.setCookies, 'refreshToken')));
    assert.equal(cookies.size, 1, 'every tab ends up with the same refresh cookie');
    const [rotatedCookie] = [...cookies] as string[];
    for (const answer of answers) assert.equal((await http.get('/api/user', { token: answer.body.token })).status, 200);
    const later = await http.post('/api/auth/refresh', { cookie: rotatedCookie });
    assert.equal(later.status, 200);
    assert.equal((await http.post('/api/auth/refresh', { cookie: cookieValue(later.setCookies, 'refreshToken') })).status, 200);
  });

  test('a token older than the last rotation ends the session, even within the grace window', async () => {
    const user = await registerAndLogin(http, 'replay');
    const first = await http.post('/api/auth/refresh', { cookie: user.refreshCookie });
    const second = await http.post('/api/auth/refresh', { cookie: cookieValue(first.setCookies, 'refreshToken') });
    assert.equal(second.status, 200);
    const replayed = await http.post('/api/auth/refresh', { cookie: user.refreshCookie });
    assert.equal(replayed.status, 401);
    assert.match(replayed.body.message, /already used/);
    assert.equal((await http.post('/api/auth/refresh', { cookie: cookieValue(second.setCookies, 'refreshToken') })).status, 401);
  });

  test('reusing a rotated token after the grace window is refused and ends the session', async () => {
    const shortGrace = await startTestApp({ REFRESH_GRACE_MS: '200' });
    try {
      const client = createHttpClient(shortGrace.baseUrl);
      const user = await registerAndLogin(client, 'rotate');
      const first = await client.post('/api/auth/refresh', { cookie: user.refreshCookie });
      assert.equal(first.status, 200);
      const rotatedCookie = cookieValue(first.setCookies, 'refreshToken')!;
      await sleep(400);
      const reused = await client.post('/api/auth/refresh', { cookie: user.refreshCookie });
      assert.equal(reused.status, 401);
      assert.match(reused.body.message, /already used/);
      // The thief's replay ended the session: the legitimate, newer token is dead too.
      assert.equal((await client.post('/api/auth/refresh', { cookie: rotatedCookie })).status, 401);
    } finally {
      await shortGrace.close();
    }
  });

  test('rotation never extends a session past SESSION_ABSOLUTE_EXPIRY', async () => {
    const lifetimeMs = 3000;
    const shortLived = await startTestApp({ SESSION_ABSOLUTE_EXPIRY: String(lifetimeMs) });
    try {
      const client = createHttpClient(shortLived.baseUrl);
      const loginStarted = Date.now();
      const user = await registerAndLogin(client, 'absolute');
      const deadline = Date.now() + lifetimeMs;
      let cookie = user.refreshCookie;
      for (const pause of [0, 1000]) {
        await sleep(pause);
        const refreshed = await client.post('/api/auth/refresh', { cookie });
        assert.equal(refreshed.status, 200);
        cookie = cookieValue(refreshed.setCookies, 'refreshToken')!;
        const claims = jwt.decode(cookie.slice('refreshToken='.length)) as { exp: number };
        // Bounded by login + lifetime (JWT seconds round down), not refresh time + REFRESH_TOKEN_EXPIRY (7 days).
        assert.ok(claims.exp * 1000 <= deadline, `exp ${claims.exp * 1000} after deadline ${deadline}`);
        assert.ok(claims.exp * 1000 >= loginStarted + lifetimeMs - 1000);
        const expires = Date.parse(refreshed.setCookies.find((line) => line.startsWith('refreshToken='))!.match(/Expires=([^;]+)/i)![1]!);
        assert.ok(expires <= deadline, 'the cookie expires with the session');
      }
      await sleep(Math.max(0, deadline - Date.now()) + 200);
      assert.equal((await client.post('/api/auth/refresh', { cookie })).status, 401);
    } finally {
      await shortLived.close();
    }
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
