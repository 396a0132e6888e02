/**
 * User and agent avatars (LIBRECHAT-API.md §4): uploaded through the real API into local storage in a temp data
 * folder, served back at their URL, replaced and removed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { AclEntry } from '../shared/models/acl-entry.ts';
import { Agent } from '../shared/models/agent.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
let directory: string;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let bob: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'durachat-avatars-'));
  app = await startTestApp({ DATA_DIR: directory });
  http = createHttpClient(app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  bob = await registerAndLogin(http, 'bob');
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
  await rm(directory, { recursive: true, force: true });
});

const png = (size = 256) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(size - 8, 7)]);
const jpeg = (size = 256) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(size - 4, 9)]);

async function post(url: string, token: string, content: Uint8Array, filename: string, type: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([content as Uint8Array<ArrayBuffer>], { type }), filename);
  const response = await fetch(`${app.baseUrl}${url}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** The avatar objects of a user in local storage. */
async function storedAvatars(userId: string): Promise<string[]> {
  const names = await readdir(path.join(directory, 'uploads', userId)).catch(() => [] as string[]);
  return names.filter((name) => name.includes('avatar-')).sort();
}

async function fetchImage(url: string) {
  const response = await fetch(`${app.baseUrl}${url}`);
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

describe('user avatar', () => {
  let firstUrl: string;

  test('an upload answers { url }, becomes the user\'s avatar, and is served with its type, cacheable, without a token', async () => {
    const content = png();
    const uploaded = await post('/api/files/images/avatar', alice.token, content, 'me.png', 'image/png', { manual: 'true' });
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    assert.deepEqual(Object.keys(uploaded.body), ['url']);
    assert.match(uploaded.body.url, new RegExp(`^/images/${alice.user.id}/avatar-[0-9a-f-]{36}\\.png\\?manual=true$`));
    firstUrl = uploaded.body.url;
    const me = await http.get('/api/user', { token: alice.token });
    assert.equal(me.body.avatar, firstUrl);

    const served = await fetchImage(firstUrl);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.match(served.headers.get('cache-control') ?? '', /max-age=\d+/);
    // Served without a token from a type judged by the bytes at upload: never sniffed into anything else.
    assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(served.headers.get('content-security-policy'), "default-src 'none'");
    assert.ok(served.bytes.equals(content));
    assert.equal((await storedAvatars(alice.user.id)).length, 1);
  });

  test('a new avatar replaces the old one: the old object is gone, the new one served as what its bytes are', async () => {
    const uploaded = await post('/api/files/images/avatar', alice.token, jpeg(), 'named-as.png', 'image/png', { manual: 'true' });
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    assert.match(uploaded.body.url, /\.jpg\?manual=true$/);
    assert.equal((await http.get('/api/user', { token: alice.token })).body.avatar, uploaded.body.url);
    assert.equal((await fetchImage(uploaded.body.url)).headers.get('content-type'), 'image/jpeg');
    assert.equal((await fetchImage(firstUrl)).status, 404);
    assert.equal((await storedAvatars(alice.user.id)).length, 1);
    firstUrl = uploaded.body.url;
  });

  test('over avatarSizeLimit (2 MB) is 413, a text file named .png is 400, no file is 400; the avatar stays as it was', async () => {
    const tooLarge = await post('/api/files/images/avatar', alice.token, png(2 * 1024 * 1024 + 1), 'big.png', 'image/png', { manual: 'true' });
    assert.equal(tooLarge.status, 413, JSON.stringify(tooLarge.body));
    assert.match(tooLarge.body.message, /maximum allowed size of 2 MB/);
    const lying = await post('/api/files/images/avatar', alice.token, Buffer.from('just some text, not an image\n'), 'avatar.png', 'image/png', { manual: 'true' });
    assert.equal(lying.status, 400, JSON.stringify(lying.body));
    assert.match(lying.body.message, /Unsupported file type: text\/plain/);
    const form = new FormData();
    form.append('manual', 'true');
    const empty = await fetch(`${app.baseUrl}/api/files/images/avatar`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}` }, body: form });
    assert.equal(empty.status, 400);
    assert.equal((await http.get('/api/user', { token: alice.token })).body.avatar, firstUrl);
    assert.equal((await storedAvatars(alice.user.id)).length, 1, 'refused uploads leave no object');
    assert.equal((await fetch(`${app.baseUrl}/api/files/images/avatar`, { method: 'POST' })).status, 401);
  });

  test('the image route serves avatars only: an uploaded file\'s key, another name or a traversal is 404', async () => {
    const form = new FormData();
    form.append('file_id', randomUUID());
    form.append('endpoint', 'demo');
    form.append('width', '10');
    form.append('height', '10');
    form.append('file', new Blob([png()], { type: 'image/png' }), 'photo.png');
    const uploaded = await fetch(`${app.baseUrl}/api/files/images`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}` }, body: form });
    const file = (await uploaded.json()) as { file_id: string };
    assert.equal(uploaded.status, 200, JSON.stringify(file));
    assert.equal((await fetchImage(`/images/${alice.user.id}/${file.file_id}.png`)).status, 404);
    assert.equal((await fetchImage(`/images/${alice.user.id}/avatar-${randomUUID()}.png`)).status, 404);
    assert.equal((await fetchImage(`/images/${alice.user.id}/..%2F..%2Fsecrets`)).status, 404);
    assert.equal((await fetchImage(`/images/${alice.user.id}/avatar-${randomUUID()}.svg`)).status, 404);
  });
});

describe('agent avatar', () => {
  test('an editor sets it (201, the agent with avatar {filepath, source}); replacing and deleting the agent remove the objects', async () => {
    const agent = await http.post('/api/agents', { token: alice.token, body: { name: 'Pictured', provider: 'demo', model: 'demo-fast' } });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    const id = agent.body.id as string;

    const first = await post(`/api/files/images/agents/${id}/avatar`, alice.token, png(), 'agent.png', 'image/png', { avatar: JSON.stringify({}) });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.id, id);
    assert.equal(first.body.avatar.source, 'local');
    assert.match(first.body.avatar.filepath, new RegExp(`^/images/${alice.user.id}/agent-${id}-avatar-[0-9a-f-]{36}\\.png$`));
    assert.equal((await http.get(`/api/agents/${id}`, { token: alice.token })).body.avatar.filepath, first.body.avatar.filepath);
    const served = await fetchImage(first.body.avatar.filepath);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/png');

    const second = await post(`/api/files/images/agents/${id}/avatar`, alice.token, jpeg(), 'agent.jpg', 'image/jpeg');
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.notEqual(second.body.avatar.filepath, first.body.avatar.filepath);
    assert.equal((await fetchImage(first.body.avatar.filepath)).status, 404, 'the old avatar is removed');
    assert.equal((await fetchImage(second.body.avatar.filepath)).status, 200);

    // Another user cannot see the agent: 404, as the agents API answers, and nothing is stored for them.
    const foreign = await post(`/api/files/images/agents/${id}/avatar`, bob.token, png(), 'agent.png', 'image/png');
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    assert.deepEqual(await storedAvatars(bob.user.id), []);
    // With a VIEW grant only: 403, as PATCH on the agent answers.
    const stored = await Agent.findOne({ id }).lean<{ _id: unknown }>();
    await AclEntry.create({ principalType: 'user', principalId: bob.user.id, principalModel: 'User', resourceType: 'agent', resourceId: stored!._id, permBits: 1 });
    const viewer = await post(`/api/files/images/agents/${id}/avatar`, bob.token, png(), 'agent.png', 'image/png');
    assert.equal(viewer.status, 403, JSON.stringify(viewer.body));
    assert.deepEqual(await storedAvatars(bob.user.id), []);
    const unknown = await post(`/api/files/images/agents/agent_${randomUUID().slice(0, 8)}/avatar`, alice.token, png(), 'agent.png', 'image/png');
    assert.equal(unknown.status, 404);

    const oversize = await post(`/api/files/images/agents/${id}/avatar`, alice.token, png(2 * 1024 * 1024 + 10), 'agent.png', 'image/png');
    assert.equal(oversize.status, 413);
    const lying = await post(`/api/files/images/agents/${id}/avatar`, alice.token, Buffer.from('plain text'), 'agent.png', 'image/png');
    assert.equal(lying.status, 400);
    assert.equal((await http.get(`/api/agents/${id}`, { token: alice.token })).body.avatar.filepath, second.body.avatar.filepath);

    // An editor pointing the avatar at someone else's image does not make the next upload delete it.
    const aliceAvatar = (await http.get('/api/user', { token: alice.token })).body.avatar as string;
    const bobsAgent = await http.post('/api/agents', { token: bob.token, body: { name: 'Thief', provider: 'demo', model: 'demo-fast' } });
    const patched = await http.patch(`/api/agents/${bobsAgent.body.id}`, { token: bob.token, body: { avatar: { filepath: aliceAvatar.split('?')[0], source: 'local' } } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await post(`/api/files/images/agents/${bobsAgent.body.id}/avatar`, bob.token, png(), 'mine.png', 'image/png')).status, 201);
    assert.equal((await fetchImage(aliceAvatar)).status, 200, 'alice\'s avatar is still there');

    const deleted = await http.delete(`/api/agents/${id}`, { token: alice.token });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await fetchImage(second.body.avatar.filepath)).status, 404, 'deleting the agent removed its avatar');
  });
});
