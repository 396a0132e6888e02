/**
 * Bookmarks (`/api/tags`) as LibreChat's server answers them; every tag answer is parsed with the client's
 * `tConversationTagSchema`.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { tConversationTagSchema, type TConversationTagRequest, type TTagConversationResponse } from 'librechat-data-provider';
import { Conversation, ConversationTag } from '../shared/models/index.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { seedConversation } from './helpers/seed.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

type User = Awaited<ReturnType<typeof registerAndLogin>>;

async function listTags(user: User) {
  const response = await http.get('/api/tags', { token: user.token });
  assert.equal(response.status, 200);
  return tConversationTagSchema.array().parse(response.body);
}

async function conversationTags(user: User, conversationId: string) {
  return (await http.get(`/api/convos/${conversationId}`, { token: user.token })).body.tags as string[];
}

describe('/api/tags', () => {
  test('creates tags in order, answers an existing one as it is, and adds to a conversation', async () => {
    const user = await registerAndLogin(http, 'tags');
    assert.deepEqual(await listTags(user), []);
    const { conversationId } = await seedConversation(user.user.id);

    const first = await http.post('/api/tags', { token: user.token, body: { tag: 'work', description: 'Job things' } satisfies TConversationTagRequest });
    assert.equal(first.status, 200);
    const work = tConversationTagSchema.parse(first.body);
    assert.deepEqual([work.tag, work.description, work.count, work.position, work.user], ['work', 'Job things', 0, 0, user.user.id]);

    const second = await http.post('/api/tags', { token: user.token, body: { tag: 'ideas', addToConversation: true, conversationId } satisfies TConversationTagRequest });
    assert.equal(second.status, 200);
    assert.deepEqual([second.body.tag, second.body.count, second.body.position], ['ideas', 1, 1]);
    assert.deepEqual(await conversationTags(user, conversationId), ['ideas']);

    // The client's bookmark form, opened outside a conversation, sends an empty conversationId.
    // At the longest name, in a script that percent-encodes to 9 characters each, the tag is still addressable.
    const longest = '書'.repeat(128);
    const fromForm = await http.post('/api/tags', { token: user.token, body: { tag: longest, description: '', conversationId: '', addToConversation: false } });
    assert.equal(fromForm.status, 200);
    assert.equal(fromForm.body.count, 0);
    assert.equal((await http.put(`/api/tags/${encodeURIComponent(longest)}`, { token: user.token, body: { description: 'long' } })).body.description, 'long');
    assert.equal((await http.delete(`/api/tags/${encodeURIComponent(longest)}`, { token: user.token })).status, 200);

    const again = await http.post('/api/tags', { token: user.token, body: { tag: 'work' } });
    assert.equal(again.body._id, work._id);
    assert.deepEqual((await listTags(user)).map((tag) => [tag.tag, tag.position]), [['work', 0], ['ideas', 1]]);
    // GET /api/convos?tags= finds the bookmarked conversation.
    const filtered = await http.get('/api/convos?tags=ideas', { token: user.token });
    assert.deepEqual(filtered.body.conversations.map((c: { conversationId: string }) => c.conversationId), [conversationId]);
  });

  test('PUT /api/tags/convo/:conversationId sets a conversation\'s tags and keeps the counts', async () => {
    const user = await registerAndLogin(http, 'tags-convo');
    const one = await seedConversation(user.user.id);
    const two = await seedConversation(user.user.id);
    await http.post('/api/tags', { token: user.token, body: { tag: 'a' } });

    const set = await http.put(`/api/tags/convo/${one.conversationId}`, { token: user.token, body: { tags: ['a', 'b'] } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, ['a', 'b'] satisfies TTagConversationResponse);
    await http.put(`/api/tags/convo/${two.conversationId}`, { token: user.token, body: { tags: ['a'] } });
    // A new name became a bookmark at the end of the list.
    assert.deepEqual((await listTags(user)).map((tag) => [tag.tag, tag.count, tag.position]), [['a', 2, 0], ['b', 1, 1]]);

    await http.put(`/api/tags/convo/${one.conversationId}`, { token: user.token, body: { tags: [] } });
    assert.deepEqual((await listTags(user)).map((tag) => [tag.tag, tag.count]), [['a', 1], ['b', 0]]);
    assert.deepEqual(await conversationTags(user, one.conversationId), []);

    // Deleting a bookmarked conversation keeps the bookmark and recounts it.
    await http.delete('/api/convos', { token: user.token, body: { arg: { conversationId: two.conversationId } } });
    assert.deepEqual((await listTags(user)).map((tag) => [tag.tag, tag.count]), [['a', 0], ['b', 0]]);
  });

  test('PUT /api/tags/:tag renames (conversations follow), describes and moves a tag', async () => {
    const user = await registerAndLogin(http, 'tags-rename');
    const { conversationId } = await seedConversation(user.user.id);
    for (const tag of ['one', 'two', 'three']) await http.post('/api/tags', { token: user.token, body: { tag } });
    await http.put(`/api/tags/convo/${conversationId}`, { token: user.token, body: { tags: ['two', 'three'] } });

    const renamed = await http.put(`/api/tags/${encodeURIComponent('two')}`, { token: user.token, body: { tag: 'zwei / 2', description: 'renamed' } });
    assert.equal(renamed.status, 200);
    tConversationTagSchema.parse(renamed.body);
    assert.deepEqual([renamed.body.tag, renamed.body.description, renamed.body.count], ['zwei / 2', 'renamed', 1]);
    assert.deepEqual([...(await conversationTags(user, conversationId))].sort(), ['three', 'zwei / 2']);

    // The client drops a row at its 0-based index and sends the whole row back with it.
    const row = (await listTags(user)).find((tag) => tag.tag === 'three')!;
    const moved = await http.put('/api/tags/three', { token: user.token, body: { ...row, position: 0 } });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.position, 0);
    assert.deepEqual((await listTags(user)).map((tag) => [tag.tag, tag.position]), [['three', 0], ['one', 1], ['zwei / 2', 2]]);
    await http.put('/api/tags/three', { token: user.token, body: { position: 99 } });
    assert.deepEqual((await listTags(user)).map((tag) => tag.tag), ['one', 'zwei / 2', 'three']);

    // A name in use is a conflict; an unknown tag is a 404.
    const clash = await http.put('/api/tags/one', { token: user.token, body: { tag: 'three' } });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.message, 'Tag already exists');
    assert.equal((await http.put('/api/tags/missing', { token: user.token, body: { tag: 'x' } })).status, 404);
  });

  test('DELETE /api/tags/:tag removes it from conversations and closes the gap in positions', async () => {
    const user = await registerAndLogin(http, 'tags-delete');
    const { conversationId } = await seedConversation(user.user.id);
    for (const tag of ['a', 'b', 'c']) await http.post('/api/tags', { token: user.token, body: { tag } });
    await http.put(`/api/tags/convo/${conversationId}`, { token: user.token, body: { tags: ['a', 'b'] } });

    const deleted = await http.delete('/api/tags/a', { token: user.token });
    assert.equal(deleted.status, 200);
    assert.equal(tConversationTagSchema.parse(deleted.body).tag, 'a');
    assert.deepEqual(await conversationTags(user, conversationId), ['b']);
    assert.deepEqual((await listTags(user)).map((tag) => [tag.tag, tag.position]), [['b', 0], ['c', 1]]);
    assert.equal((await http.delete('/api/tags/a', { token: user.token })).status, 404);
  });

  test('another user\'s tags and conversations answer 404 and are left alone', async () => {
    const owner = await registerAndLogin(http, 'tags-owner');
    const other = await registerAndLogin(http, 'tags-other');
    const { conversationId } = await seedConversation(owner.user.id);
    await http.post('/api/tags', { token: owner.token, body: { tag: 'private', addToConversation: true, conversationId } });

    assert.deepEqual(await listTags(other), []);
    assert.equal((await http.put('/api/tags/private', { token: other.token, body: { tag: 'stolen' } })).status, 404);
    assert.equal((await http.delete('/api/tags/private', { token: other.token })).status, 404);
    const setOther = await http.put(`/api/tags/convo/${conversationId}`, { token: other.token, body: { tags: ['x'] } });
    assert.equal(setOther.status, 404);
    assert.equal(setOther.body.message, 'Conversation not found');
    const addOther = await http.post('/api/tags', { token: other.token, body: { tag: 'mine', addToConversation: true, conversationId } });
    assert.equal(addOther.status, 404);

    assert.deepEqual(await conversationTags(owner, conversationId), ['private']);
    assert.deepEqual((await listTags(owner)).map((tag) => [tag.tag, tag.count]), [['private', 1]]);
    assert.deepEqual(await listTags(other), []);
  });

  test('refuses bad input with 400 and a clear message', async () => {
    const user = await registerAndLogin(http, 'tags-bad');
    const { conversationId } = await seedConversation(user.user.id);
    const cases: Array<[method: 'post' | 'put', path: string, body: unknown, message: RegExp]> = [
      ['post', '/api/tags', {}, /^tag: required$/],
      ['post', '/api/tags', { tag: '   ' }, /^tag: must be 1 to 128 characters$/],
      ['post', '/api/tags', { tag: 'x'.repeat(129) }, /^tag: must be 1 to 128 characters$/],
      ['post', '/api/tags', { tag: 42 }, /^tag: must be a string$/],
      ['post', '/api/tags', { tag: 'ok', description: 'd'.repeat(1049) }, /^description: must be at most 1048 characters$/],
      ['post', '/api/tags', { tag: 'ok', conversationId: 'not an id' }, /^conversationId: /],
      ['put', '/api/tags/ok', {}, /nothing to update/],
      ['put', '/api/tags/ok', { position: 1.5 }, /^position: must be a whole number$/],
      ['put', `/api/tags/convo/${conversationId}`, {}, /^tags: required$/],
      ['put', `/api/tags/convo/${conversationId}`, { tags: 'a' }, /^tags: must be an array$/],
      ['put', `/api/tags/convo/${conversationId}`, { tags: Array.from({ length: 51 }, (_, index) => `t${index}`) }, /^tags: at most 50 tags per conversation$/],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await http[method](path, { token: user.token, body });
      assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(response.body.message, message);
    }
    assert.equal((await http.get('/api/tags')).status, 401);
  });

  test('a user keeps at most 100 bookmarks', async () => {
    const user = await registerAndLogin(http, 'tags-limit');
    const { conversationId } = await seedConversation(user.user.id);
    // Written directly: a hundred requests would only slow the suite down.
    await ConversationTag.insertMany(Array.from({ length: 100 }, (_, index) => ({ user: user.user.id, tag: `t${index}`, position: index })));
    const refused = await http.post('/api/tags', { token: user.token, body: { tag: 'one too many' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.message, 'tag: at most 100 bookmarks per user');
    const viaConversation = await http.put(`/api/tags/convo/${conversationId}`, { token: user.token, body: { tags: ['brand new'] } });
    assert.equal(viaConversation.status, 400);
    assert.deepEqual((await Conversation.findOne({ conversationId }).lean<{ tags: string[] }>())!.tags, []);
    // An existing tag is still answered.
    assert.equal((await http.post('/api/tags', { token: user.token, body: { tag: 't5' } })).status, 200);
  });
});
