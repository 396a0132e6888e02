import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { MESSAGES_PAGE_MAX } from '../api/services/message-service.ts';
import { Conversation, Message, ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { seedConversation } from './helpers/seed.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

const MESSAGE_COUNT = MESSAGES_PAGE_MAX + 205;

let app: TestApp;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let mallory: Awaited<ReturnType<typeof registerAndLogin>>;
let conversationId: string;
/** Every seeded message id in (createdAt, messageId) order, oldest first. */
let ascending: string[];

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  mallory = await registerAndLogin(http, 'mallory');
  conversationId = randomUUID();
  await Conversation.create({ conversationId, user: alice.user.id, title: 'Long', endpoint: 'demo', model: 'demo-fast' });
  const start = Date.UTC(2025, 0, 1);
  let parentMessageId = ROOT_PARENT_MESSAGE_ID;
  const documents = Array.from({ length: MESSAGE_COUNT }, (_, index) => {
    const messageId = randomUUID();
    // Three messages per second: pages must break ties on createdAt without losing or repeating any.
    const createdAt = new Date(start + Math.floor(index / 3) * 1000);
    const document = { messageId, conversationId, user: alice.user.id, parentMessageId, text: `message ${index}`, isCreatedByUser: index % 2 === 0, createdAt, updatedAt: createdAt };
    parentMessageId = messageId;
    return document;
  });
  await Message.insertMany(documents);
  ascending = [...documents]
    .sort((left, right) => left.createdAt.getTime() - right.createdAt.getTime() || (left.messageId < right.messageId ? -1 : 1))
    .map((document) => document.messageId);
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

const idsOf = (messages: Array<{ messageId: string }>) => messages.map((message) => message.messageId);

describe('GET /api/messages/:conversationId', () => {
  test(`without parameters: the newest ${MESSAGES_PAGE_MAX}, oldest first, and a cursor to the rest`, async () => {
    const response = await http.get(`/api/messages/${conversationId}`, { token: alice.token });
    assert.equal(response.status, 200);
    assert.ok(Array.isArray(response.body));
    assert.deepEqual(idsOf(response.body), ascending.slice(-MESSAGES_PAGE_MAX));
    assert.equal(response.body[0]._id, undefined);
    const cursor = response.headers.get('x-next-cursor');
    assert.ok(cursor);
    const rest = await http.get(`/api/messages/${conversationId}?cursor=${cursor}`, { token: alice.token });
    assert.deepEqual(idsOf(rest.body), ascending.slice(0, MESSAGE_COUNT - MESSAGES_PAGE_MAX));
    assert.equal(rest.headers.get('x-next-cursor'), null);
  });

  test('limit and cursor page from newest to oldest, covering every message exactly once', async () => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=100&cursor=${cursor}` : '?limit=100';
      const response = await http.get(`/api/messages/${conversationId}${query}`, { token: alice.token });
      assert.equal(response.status, 200);
      assert.ok(response.body.length <= 100);
      pages.push(idsOf(response.body));
      cursor = response.headers.get('x-next-cursor');
    } while (cursor && pages.length < 50);
    assert.equal(pages.length, Math.ceil(MESSAGE_COUNT / 100));
    assert.deepEqual(pages.reverse().flat(), ascending);
  });

  test('a short conversation comes whole, without a cursor', async () => {
    const seeded = await seedConversation(alice.user.id);
    const response = await http.get(`/api/messages/${seeded.conversationId}`, { token: alice.token });
    assert.deepEqual(idsOf(response.body), [seeded.userMessageId, seeded.replyId]);
    assert.equal(response.headers.get('x-next-cursor'), null);
  });

  test("another user's conversation is 404", async () => {
    assert.equal((await http.get(`/api/messages/${conversationId}`, { token: mallory.token })).status, 404);
    assert.equal((await http.get(`/api/messages/${conversationId}?limit=5`, { token: mallory.token })).status, 404);
  });

  test('bad paging parameters are 400', async () => {
    for (const query of ['limit=0', `limit=${MESSAGES_PAGE_MAX + 1}`, 'limit=ten', 'cursor=bm90LWpzb24', `cursor=${'a'.repeat(600)}`]) {
      const response = await http.get(`/api/messages/${conversationId}?${query}`, { token: alice.token });
      assert.equal(response.status, 400, query);
    }
  });
});

describe('GET /api/messages?conversationId=', () => {
  async function readAll(query: string) {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/api/messages?conversationId=${conversationId}&${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await http.get(path, { token: alice.token });
      assert.equal(response.status, 200);
      ids.push(...idsOf(response.body.messages));
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);
    return { ids, pages };
  }

  test('pages as {messages, nextCursor}, newest first by default, every message once', async () => {
    const newestFirst = await readAll('pageSize=500');
    assert.equal(newestFirst.pages, Math.ceil(MESSAGE_COUNT / 500));
    assert.deepEqual(newestFirst.ids, [...ascending].reverse());
    const oldestFirst = await readAll('pageSize=300&sortDirection=asc');
    assert.deepEqual(oldestFirst.ids, ascending);
    const first = await http.get(`/api/messages?conversationId=${conversationId}`, { token: alice.token });
    assert.equal(first.body.messages.length, 25);
  });

  test('messageId answers that one message', async () => {
    const response = await http.get(`/api/messages?conversationId=${conversationId}&messageId=${ascending[7]}`, { token: alice.token });
    assert.deepEqual(idsOf(response.body.messages), [ascending[7]]);
    assert.equal(response.body.nextCursor, null);
  });

  test("another user's conversation is 404; bad parameters are 400", async () => {
    assert.equal((await http.get(`/api/messages?conversationId=${conversationId}`, { token: mallory.token })).status, 404);
    // `search=` is the search index's (test/search.test.ts).
    for (const query of ['', `conversationId=${conversationId}&pageSize=0`, `conversationId=${conversationId}&pageSize=501`, `conversationId=${conversationId}&sortBy=updatedAt`, `conversationId=${conversationId}&cursor=bm90LWpzb24`]) {
      const response = await http.get(`/api/messages?${query}`, { token: alice.token });
      assert.equal(response.status, 400, query);
    }
  });
});
