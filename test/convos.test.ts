import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { Conversation } from '../shared/models/index.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { seedConversation } from './helpers/seed.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let mallory: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  mallory = await registerAndLogin(http, 'mallory');
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

describe('GET /api/convos', () => {
  test('pages through every conversation exactly once with the cursor, newest first', async () => {
    const user = await registerAndLogin(http, 'pager');
    const created: string[] = [];
    for (let index = 0; index < 7; index += 1) {
      const { conversationId } = await seedConversation(user.user.id, { title: `Chat ${index}` });
      created.push(conversationId);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const response = await http.get(`/api/convos${query}`, { token: user.token });
      assert.equal(response.status, 200);
      assert.ok(response.body.conversations.length <= 3);
      seen.push(...response.body.conversations.map((conversation: { conversationId: string }) => conversation.conversationId));
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual([...seen].sort(), [...created].sort());
    assert.equal(new Set(seen).size, 7);
    const first = await http.get('/api/convos?limit=1', { token: user.token });
    assert.equal(first.body.conversations[0].title, 'Chat 6');
    assert.equal(first.body.conversations[0]._id, undefined);
  });

  // Searching (`?search=`) is the search index's: test/search.test.ts.
  test('separates archived conversations', async () => {
    const user = await registerAndLogin(http, 'archiver');
    const kept = await seedConversation(user.user.id, { title: 'Kept (plans)' });
    const archived = await seedConversation(user.user.id, { title: 'Old', isArchived: true });
    const active = await http.get('/api/convos', { token: user.token });
    assert.deepEqual(active.body.conversations.map((c: { conversationId: string }) => c.conversationId), [kept.conversationId]);
    const onlyArchived = await http.get('/api/convos?isArchived=true', { token: user.token });
    assert.deepEqual(onlyArchived.body.conversations.map((c: { conversationId: string }) => c.conversationId), [archived.conversationId]);
  });

  test('refuses a bad limit and a forged cursor with 400', async () => {
    assert.equal((await http.get('/api/convos?limit=0', { token: alice.token })).status, 400);
    assert.equal((await http.get('/api/convos?limit=1000', { token: alice.token })).status, 400);
    const forged = await http.get('/api/convos?cursor=bm90LWpzb24', { token: alice.token });
    assert.equal(forged.status, 400);
    assert.match(forged.body.message, /^cursor:/);
  });

  test('never lists another user\'s conversations', async () => {
    const { conversationId } = await seedConversation(mallory.user.id, { title: 'Mallory only' });
    const response = await http.get('/api/convos?limit=100', { token: alice.token });
    assert.ok(!response.body.conversations.some((conversation: { conversationId: string }) => conversation.conversationId === conversationId));
  });
});

describe('one conversation', () => {
  test('get, rename, archive', async () => {
    const { conversationId } = await seedConversation(alice.user.id);
    const got = await http.get(`/api/convos/${conversationId}`, { token: alice.token });
    assert.equal(got.status, 200);
    assert.equal(got.body.conversationId, conversationId);
    const renamed = await http.post('/api/convos/update', { token: alice.token, body: { arg: { conversationId, title: 'Renamed' } } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.title, 'Renamed');
    const archived = await http.post('/api/convos/update', { token: alice.token, body: { arg: { conversationId, isArchived: true } } });
    assert.equal(archived.body.isArchived, true);
    assert.equal((await Conversation.findOne({ conversationId }).lean<{ title: string }>())!.title, 'Renamed');
    const empty = await http.post('/api/convos/update', { token: alice.token, body: { arg: { conversationId } } });
    assert.equal(empty.status, 400);
  });

  test('another user\'s conversation answers 404 to get, update and delete, and is untouched', async () => {
    const { conversationId } = await seedConversation(alice.user.id, { title: 'Private' });
    const get = await http.get(`/api/convos/${conversationId}`, { token: mallory.token });
    assert.equal(get.status, 404);
    assert.deepEqual(Object.keys(get.body).sort(), ['message', 'requestId']);
    assert.equal((await http.post('/api/convos/update', { token: mallory.token, body: { arg: { conversationId, title: 'pwned' } } })).status, 404);
    assert.equal((await http.delete('/api/convos', { token: mallory.token, body: { arg: { conversationId } } })).status, 404);
    assert.equal((await http.get(`/api/messages/${conversationId}`, { token: mallory.token })).status, 404);
    const stillThere = await http.get(`/api/convos/${conversationId}`, { token: alice.token });
    assert.equal(stillThere.body.title, 'Private');
  });

  test('delete removes the conversation and its messages', async () => {
    const { conversationId } = await seedConversation(alice.user.id);
    const response = await http.delete('/api/convos', { token: alice.token, body: { arg: { conversationId } } });
    assert.equal(response.status, 200);
    assert.equal(response.body.deletedCount, 1);
    assert.equal(response.body.messages.deletedCount, 2);
    assert.equal((await http.get(`/api/convos/${conversationId}`, { token: alice.token })).status, 404);
  });

  test('delete all removes only the caller\'s conversations', async () => {
    const user = await registerAndLogin(http, 'wiper');
    await seedConversation(user.user.id);
    await seedConversation(user.user.id);
    const survivor = await seedConversation(alice.user.id);
    const response = await http.delete('/api/convos/all', { token: user.token });
    assert.equal(response.status, 200);
    assert.equal(response.body.deletedCount, 2);
    assert.equal((await http.get('/api/convos', { token: user.token })).body.conversations.length, 0);
    assert.equal((await http.get(`/api/convos/${survivor.conversationId}`, { token: alice.token })).status, 200);
  });
});

describe('messages', () => {
  test('lists a conversation\'s messages in order', async () => {
    const { conversationId, userMessageId, replyId } = await seedConversation(alice.user.id);
    const response = await http.get(`/api/messages/${conversationId}`, { token: alice.token });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.map((message: { messageId: string }) => message.messageId), [userMessageId, replyId]);
    assert.equal(response.body[1].parentMessageId, userMessageId);
  });

  test('edits text, with and without a content index', async () => {
    const { conversationId, replyId } = await seedConversation(alice.user.id);
    const edited = await http.put(`/api/messages/${conversationId}/${replyId}`, { token: alice.token, body: { text: 'Edited' } });
    assert.equal(edited.status, 200);
    assert.equal(edited.body.text, 'Edited');
    assert.deepEqual(edited.body.content, [{ type: 'text', text: 'Edited' }]);
    const indexed = await http.put(`/api/messages/${conversationId}/${replyId}`, { token: alice.token, body: { text: 'By index', index: 0 } });
    assert.equal(indexed.body.text, 'By index');
    const badIndex = await http.put(`/api/messages/${conversationId}/${replyId}`, { token: alice.token, body: { text: 'x', index: 5 } });
    assert.equal(badIndex.status, 400);
  });

  test('sets and clears feedback', async () => {
    const { conversationId, replyId } = await seedConversation(alice.user.id);
    const path = `/api/messages/${conversationId}/${replyId}/feedback`;
    const set = await http.put(path, { token: alice.token, body: { feedback: { rating: 'thumbsDown', tag: 'not_helpful', text: 'meh' } } });
    assert.equal(set.status, 200);
    assert.equal(set.body.feedback.rating, 'thumbsDown');
    const list = await http.get(`/api/messages/${conversationId}`, { token: alice.token });
    assert.equal(list.body[1].feedback.text, 'meh');
    const cleared = await http.put(path, { token: alice.token, body: { feedback: null } });
    assert.equal(cleared.body.feedback, undefined);
    assert.equal((await http.put(path, { token: alice.token, body: { feedback: { rating: 'great' } } })).status, 400);
  });

  test('deletes a message; another user cannot edit, rate or delete it', async () => {
    const { conversationId, replyId, userMessageId } = await seedConversation(alice.user.id);
    assert.equal((await http.put(`/api/messages/${conversationId}/${replyId}`, { token: mallory.token, body: { text: 'pwned' } })).status, 404);
    assert.equal((await http.put(`/api/messages/${conversationId}/${replyId}/feedback`, { token: mallory.token, body: { feedback: null } })).status, 404);
    assert.equal((await http.delete(`/api/messages/${conversationId}/${replyId}`, { token: mallory.token })).status, 404);
    const removed = await http.delete(`/api/messages/${conversationId}/${replyId}`, { token: alice.token });
    assert.equal(removed.status, 200);
    const left = await http.get(`/api/messages/${conversationId}`, { token: alice.token });
    assert.deepEqual(left.body.map((message: { messageId: string }) => message.messageId), [userMessageId]);
  });
});

describe('input hardening', () => {
  test('MongoDB operators in a body or query string are refused with 400', async () => {
    const { conversationId } = await seedConversation(alice.user.id);
    const inBody = await http.post('/api/convos/update', { token: alice.token, body: { arg: { conversationId: { $ne: null }, title: 'all' } } });
    assert.equal(inBody.status, 400);
    assert.match(inBody.body.message, /\$ne/);
    const dotted = await http.post('/api/convos/update', { token: alice.token, body: { arg: { conversationId, 'title.x': 'y' } } });
    assert.equal(dotted.status, 400);
    const inQuery = await http.get('/api/convos?$where=1', { token: alice.token });
    assert.equal(inQuery.status, 400);
    const login = await http.post('/api/auth/login', { body: { email: { $gt: '' }, password: { $gt: '' } } });
    assert.equal(login.status, 400);
    const nested = await http.put(`/api/messages/${conversationId}/x/feedback`, { token: alice.token, body: { feedback: { rating: 'thumbsUp', tag: { $where: 'x' } } } });
    assert.equal(nested.status, 400);
  });

  test('an oversize body is refused with 413 and bad JSON with 400, both in the common shape', async () => {
    const big = 'x'.repeat(app.config.BODY_LIMIT + 10);
    const oversize = await http.post('/api/convos/update', { token: alice.token, body: { arg: { conversationId: 'a', title: big } } });
    assert.equal(oversize.status, 413);
    assert.equal(oversize.body.message, 'Request body is too large');
    const badJson = await http.post('/api/convos/update', { token: alice.token, rawBody: '{"arg":' });
    assert.equal(badJson.status, 400);
    assert.ok(badJson.body.requestId);
    assert.equal(JSON.stringify(badJson.body).includes(' at '), false, 'no stack trace');
  });

  test('ids that are not ids are refused with 400', async () => {
    const response = await http.get('/api/convos/not%20an%20id', { token: alice.token });
    assert.equal(response.status, 400);
  });
});
