/**
 * Share links (`/api/share`) as LibreChat's server answers them, and the public, anonymised view of a shared
 * conversation. Answers are checked against `librechat-data-provider`'s types and its message schema.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import {
  tMessageSchema,
  type SharedLinksResponse,
  type TDeleteSharedLinkResponse,
  type TSharedLinkGetResponse,
  type TSharedLinkResponse,
  type TSharedLinkStartupConfig,
  type TSharedMessagesResponse,
} from 'librechat-data-provider';
import { Conversation, Message, ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
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

async function share(user: User, conversationId: string, body: Record<string, unknown> = {}) {
  const response = await http.post<TSharedLinkResponse>(`/api/share/${conversationId}`, { token: user.token, body });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

async function publicView(shareId: string) {
  const response = await http.get<TSharedMessagesResponse>(`/api/share/${shareId}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  for (const message of response.body.messages) tMessageSchema.parse(message);
  return response.body;
}

describe('/api/share', () => {
  test('creates one link per conversation and finds it by conversation', async () => {
    const user = await registerAndLogin(http, 'share');
    const { conversationId } = await seedConversation(user.user.id, { title: 'Shared chat' });
    const none = await http.get(`/api/share/link/${conversationId}`, { token: user.token });
    assert.deepEqual(none.body, { success: false, shareId: null, conversationId } satisfies TSharedLinkGetResponse);

    const created = await share(user, conversationId);
    assert.match(created.shareId, /^[A-Za-z0-9_-]{20,}$/);
    assert.equal(created.conversationId, conversationId);
    const found = await http.get(`/api/share/link/${conversationId}`, { token: user.token });
    assert.deepEqual(found.body, { success: true, shareId: created.shareId, conversationId } satisfies TSharedLinkGetResponse);

    const again = await http.post(`/api/share/${conversationId}`, { token: user.token, body: {} });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'SHARE_EXISTS');
  });

  test('the public view needs no token and carries no user id, email or real id', async () => {
    const user = await registerAndLogin(http, 'share-public');
    const { conversationId, userMessageId, replyId } = await seedConversation(user.user.id, { title: 'Public chat' });
    // A reply with an attachment and a file record, both of which name their owner where they are stored.
    const withFiles = randomUUID();
    await Message.create({
      messageId: withFiles,
      conversationId,
      user: user.user.id,
      parentMessageId: replyId,
      sender: 'Demo',
      text: 'See attached',
      isCreatedByUser: false,
      attachments: [{ type: 'image', file_id: 'f1', user: user.user.id, messageId: withFiles, conversationId }],
      files: [{ file_id: 'f1', user: user.user.id, filename: 'a.png' }],
    });
    const { shareId } = await share(user, conversationId);

    const view = await publicView(shareId);
    assert.equal(view.shareId, shareId);
    assert.equal(view.title, 'Public chat');
    assert.match(view.conversationId, /^convo_/);
    assert.equal(view.messages.length, 3);
    const [question, answer, attached] = view.messages;
    assert.equal(attached!.parentMessageId, answer!.messageId);
    assert.deepEqual(attached!.attachments, [{ type: 'image', file_id: 'f1', messageId: attached!.messageId, conversationId: view.conversationId }]);
    assert.deepEqual(attached!.files, [{ file_id: 'f1', filename: 'a.png' }]);
    assert.deepEqual([question!.text, answer!.text], ['Hello', 'Hi there']);
    assert.match(question!.messageId, /^msg_/);
    assert.equal(question!.parentMessageId, ROOT_PARENT_MESSAGE_ID);
    // Ids are replaced consistently: the reply's parent is the question's new id.
    assert.equal(answer!.parentMessageId, question!.messageId);
    for (const message of view.messages) assert.equal(message.conversationId, view.conversationId);

    const text = JSON.stringify(view);
    for (const secret of [user.user.id, user.email, conversationId, userMessageId, replyId, withFiles]) assert.equal(text.includes(secret), false, secret);
    assert.equal(text.includes('"user"'), false);
    assert.equal(text.includes('"_id"'), false);
    // The same on every load, so the client can reconcile a refetch.
    assert.deepEqual(await publicView(shareId), view);
    // Also with someone else's token.
    const stranger = await registerAndLogin(http, 'share-stranger');
    assert.equal((await http.get(`/api/share/${shareId}`, { token: stranger.token })).status, 200);
    assert.equal((await http.get('/api/share/no-such-share')).status, 404);
  });

  test('a link shared at a message shows the thread down to that message\'s level', async () => {
    const user = await registerAndLogin(http, 'share-target');
    const { conversationId, userMessageId } = await seedConversation(user.user.id);
    const created = await share(user, conversationId, { targetMessageId: userMessageId });
    assert.equal(created.targetMessageId, userMessageId);
    const view = await publicView(created.shareId);
    assert.deepEqual(view.messages.map((message) => message.text), ['Hello']);
  });

  test('PATCH refreshes the messages under a new share id; the old one stops working', async () => {
    const user = await registerAndLogin(http, 'share-refresh');
    const { conversationId, replyId } = await seedConversation(user.user.id);
    const { shareId } = await share(user, conversationId);
    await Message.create({ messageId: randomUUID(), conversationId, user: user.user.id, parentMessageId: replyId, sender: 'User', text: 'Later', isCreatedByUser: true });
    assert.equal((await publicView(shareId)).messages.length, 2);

    const refreshed = await http.patch<TSharedLinkResponse>(`/api/share/${shareId}`, { token: user.token, body: {} });
    assert.equal(refreshed.status, 200);
    assert.notEqual(refreshed.body.shareId, shareId);
    assert.equal(refreshed.body.conversationId, conversationId);
    assert.equal((await http.get(`/api/share/${shareId}`)).status, 404);
    const view = await publicView(refreshed.body.shareId);
    assert.deepEqual(view.messages.map((message) => message.text), ['Hello', 'Hi there', 'Later']);
    assert.equal((await http.get(`/api/share/link/${conversationId}`, { token: user.token })).body.shareId, refreshed.body.shareId);
  });

  test('DELETE removes the link; a deleted conversation\'s link answers 404', async () => {
    const user = await registerAndLogin(http, 'share-delete');
    const kept = await seedConversation(user.user.id);
    const { shareId } = await share(user, kept.conversationId);
    const deleted = await http.delete(`/api/share/${shareId}`, { token: user.token });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { success: true, shareId, message: 'Share deleted successfully' } satisfies TDeleteSharedLinkResponse);
    assert.equal((await http.get(`/api/share/${shareId}`)).status, 404);
    assert.equal((await http.delete(`/api/share/${shareId}`, { token: user.token })).status, 404);
    // Deleted, the conversation can be shared again.
    await share(user, kept.conversationId);

    const gone = await seedConversation(user.user.id);
    const goneShare = await share(user, gone.conversationId);
    await http.delete('/api/convos', { token: user.token, body: { arg: { conversationId: gone.conversationId } } });
    assert.equal((await http.get(`/api/share/${goneShare.shareId}`)).status, 404);
    // Deleting a conversation deletes its link, as in LibreChat.
    const listed = await http.get<SharedLinksResponse>('/api/share', { token: user.token });
    assert.deepEqual(listed.body.links.map((link) => link.conversationId), [kept.conversationId]);
    await http.delete('/api/convos/all', { token: user.token });
    assert.deepEqual((await http.get<SharedLinksResponse>('/api/share', { token: user.token })).body.links, []);
  });

  test('GET /api/share lists the user\'s links in cursor pages, sorted and searched', async () => {
    const user = await registerAndLogin(http, 'share-list');
    const titles = ['Beta', 'Alpha', 'Gamma', 'Alpha two'];
    const shareIds: string[] = [];
    for (const title of titles) {
      const { conversationId } = await seedConversation(user.user.id, { title });
      shareIds.push((await share(user, conversationId)).shareId);
    }
    const seen: Array<{ shareId: string; createdAt: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/api/share?pageSize=3&sortBy=createdAt&sortDirection=desc${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await http.get<SharedLinksResponse>(query, { token: user.token });
      assert.equal(response.status, 200);
      seen.push(...response.body.links);
      assert.equal(response.body.hasNextPage, response.body.nextCursor !== null);
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 5);
    assert.equal(pages, 2);
    // Every link exactly once, newest first (links made in the same millisecond may come in either order).
    assert.deepEqual(seen.map((link) => link.shareId).sort(), [...shareIds].sort());
    const times = seen.map((link) => Date.parse(link.createdAt));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));

    const byTitle = await http.get<SharedLinksResponse>('/api/share?sortBy=title&sortDirection=asc', { token: user.token });
    assert.deepEqual(byTitle.body.links.map((link) => link.title), ['Alpha', 'Alpha two', 'Beta', 'Gamma']);
    const first = byTitle.body.links[0]!;
    assert.deepEqual(Object.keys(first).sort(), ['conversationId', 'createdAt', 'isPublic', 'shareId', 'title']);
    const searched = await http.get<SharedLinksResponse>(`/api/share?search=${encodeURIComponent('alpha')}`, { token: user.token });
    assert.deepEqual(searched.body.links.map((link) => link.title).sort(), ['Alpha', 'Alpha two']);
    assert.deepEqual((await http.get('/api/share?search=.*', { token: user.token })).body.links, []);
  });

  test('another user\'s conversations and links answer 404 and are left alone', async () => {
    const owner = await registerAndLogin(http, 'share-owner');
    const other = await registerAndLogin(http, 'share-other');
    const { conversationId } = await seedConversation(owner.user.id);
    const unshared = await seedConversation(owner.user.id);
    const { shareId } = await share(owner, conversationId);

    const createOther = await http.post(`/api/share/${unshared.conversationId}`, { token: other.token, body: {} });
    assert.equal(createOther.status, 404);
    assert.equal(createOther.body.message, 'Conversation not found');
    assert.equal((await http.patch(`/api/share/${shareId}`, { token: other.token, body: {} })).status, 404);
    assert.equal((await http.delete(`/api/share/${shareId}`, { token: other.token })).status, 404);
    // The link lookup is per user, as in LibreChat: another user's conversation simply has no link of theirs.
    assert.deepEqual((await http.get(`/api/share/link/${conversationId}`, { token: other.token })).body, { success: false, shareId: null, conversationId });
    assert.deepEqual((await http.get('/api/share', { token: other.token })).body, { links: [], nextCursor: null, hasNextPage: false });

    assert.equal((await http.get(`/api/share/${shareId}`)).status, 200);
    assert.equal((await http.get(`/api/share/link/${conversationId}`, { token: owner.token })).body.shareId, shareId);
  });

  test('refuses bad input with 400 and a clear message, and owner routes need a token', async () => {
    const user = await registerAndLogin(http, 'share-bad');
    const { conversationId } = await seedConversation(user.user.id);
    const empty = `empty-${randomUUID()}`;
    await Conversation.create({ conversationId: empty, user: user.user.id, title: 'Empty' });
    const cases: Array<[method: 'get' | 'post', path: string, body: unknown, message: RegExp]> = [
      ['get', '/api/share/link/not%20an%20id', undefined, /^conversationId: /],
      ['post', '/api/share/not%20an%20id', {}, /^conversationId: /],
      ['post', `/api/share/${conversationId}`, { targetMessageId: 'a b' }, /^targetMessageId: /],
      ['post', `/api/share/${conversationId}`, { targetMessageId: 'not-in-this-conversation' }, /^targetMessageId: is not a message of this conversation$/],
      ['post', `/api/share/${empty}`, {}, /^No messages to share$/],
      ['get', '/api/share?pageSize=0', undefined, /^pageSize: /],
      ['get', '/api/share?sortBy=user', undefined, /^sortBy: /],
      ['get', '/api/share?cursor=bm90LWpzb24', undefined, /^cursor: /],
      ['get', '/api/share/not%20an%20id', undefined, /^shareId: /],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await http[method](path, { token: user.token, ...(body !== undefined ? { body } : {}) });
      assert.equal(response.status, 400, `${method} ${path}`);
      assert.match(response.body.message, message);
    }
    assert.equal((await http.get('/api/share')).status, 401);
    assert.equal((await http.get(`/api/share/link/${conversationId}`)).status, 401);
    assert.equal((await http.post(`/api/share/${conversationId}`, { body: {} })).status, 401);
    assert.equal((await http.patch('/api/share/some-share', { body: {} })).status, 401);
    assert.equal((await http.delete('/api/share/some-share')).status, 401);
  });

  test('/api/config turns shared links on, public; a link\'s own startup config is public too', async () => {
    const config = await http.get('/api/config');
    assert.equal(config.body.sharedLinksEnabled, true);
    assert.equal(config.body.publicSharedLinksEnabled, true);

    const user = await registerAndLogin(http, 'share-config');
    const { conversationId } = await seedConversation(user.user.id);
    const { shareId } = await share(user, conversationId);
    const shared = await http.get<TSharedLinkStartupConfig>(`/api/share/${shareId}/config`);
    assert.equal(shared.status, 200);
    assert.equal(shared.body.appTitle, config.body.appTitle);
    assert.equal((await http.get('/api/share/no-such-share/config')).status, 404);
  });
});
