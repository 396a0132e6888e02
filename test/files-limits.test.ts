/** The upload limiter (LibreChat's FILE_UPLOAD_USER_MAX/WINDOW): per user, shared through Redis, 429 with Retry-After. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'durachat-files-limits-'));
  process.env.FILE_UPLOAD_USER_MAX = '3';
  process.env.FILE_UPLOAD_USER_WINDOW = '15';
  app = await startTestApp({ DATA_DIR: directory });
  http = createHttpClient(app.baseUrl);
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
  await rm(directory, { recursive: true, force: true });
});

async function upload(token: string) {
  const form = new FormData();
  form.append('endpoint', 'demo');
  form.append('file_id', randomUUID());
  form.append('file', new Blob(['hello'], { type: 'text/plain' }), 'hello.txt');
  const response = await fetch(`${app.baseUrl}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as { message: string } };
}

test('the fourth upload in the window answers 429 for that user only', async () => {
  const alice = await registerAndLogin(http, 'alice');
  const bob = await registerAndLogin(http, 'bob');
  for (let attempt = 1; attempt <= 3; attempt += 1) assert.equal((await upload(alice.token)).status, 200);
  const limited = await upload(alice.token);
  assert.equal(limited.status, 429);
  assert.equal(limited.body.message, 'Too many file upload requests, please try again after 15 minutes.');
  assert.ok(Number(limited.retryAfter) > 0 && Number(limited.retryAfter) <= 900);
  // Same IP, another user: still allowed.
  assert.equal((await upload(bob.token)).status, 200);
  // Reads are not limited.
  assert.equal((await http.get('/api/files', { token: alice.token })).body.length, 3);
});
