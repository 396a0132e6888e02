/**
 * Search as LibreChat's client calls it (issue 12; LIBRECHAT-API.md §5), end to end on the real stack:
 * writes go through the HTTP API (import, rename, edit, delete, a chat turn on the in-process chat worker),
 * are captured in the outbox, indexed by the search worker's indexer workflow into PostgreSQL full-text
 * search, and read back through `GET /api/search/enable`, `GET /api/convos?search=` and
 * `GET /api/messages?search=`.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { buildServer } from '../api/build-server.ts';
import type { SearchEngine } from '../activities/search/search-engine.ts';
import { loadEndpointsConfig } from '../shared/endpoints-config.ts';
import { Conversation } from '../shared/models/index.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import {
  assertIndexEqualsDatabase,
  createTestSearchEngine,
  deleteReconcileSchedule,
  dropSearchSchema,
  importThroughApi,
  outboxEmpty,
  startSearchWorker,
  useSearchEnvironment,
  type SearchWorker,
} from './helpers/search-stack.ts';
import { waitFor } from './helpers/wait-for.ts';
import { finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

type User = Awaited<ReturnType<typeof registerAndLogin>>;

let stack: ChatStack;
let http: HttpClient;
let engine: SearchEngine;
let worker: SearchWorker;
let admin: User;
let alice: User;
let mallory: User;

beforeAll(async () => {
  useSearchEnvironment();
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
  engine = createTestSearchEngine();
  worker = await startSearchWorker(stack.app.config, engine);
  // The first account is the deployment's administrator.
  admin = await registerAndLogin(http, 'admin');
  alice = await registerAndLogin(http, 'alice');
  mallory = await registerAndLogin(http, 'mallory');
});

afterAll(async () => {
  await worker?.stop();
  await stack?.close();
  await engine?.close();
  if (stack) await deleteReconcileSchedule(stack.app.config);
  await dropSearchSchema();
  if (stack) await cleanUpTestData(stack.app.config);
});

const importConversations = (user: User, conversations: Array<{ title: string; messages: string[] }>) => importThroughApi(stack.app.baseUrl, user, conversations);

/** Everything written so far has been applied by the indexer. */
const indexed = () => waitFor('the search outbox to drain', outboxEmpty);

const searchConvos = async (user: User, text: string, query = '') => {
  const response = await http.get(`/api/convos?search=${encodeURIComponent(text)}${query}`, { token: user.token });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { conversations: Array<Record<string, unknown> & { conversationId: string; title: string }>; nextCursor: string | null };
};
const searchMessages = async (user: User, text: string, query = '') => {
  const response = await http.get(`/api/messages?search=${encodeURIComponent(text)}${query}`, { token: user.token });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { messages: Array<Record<string, unknown> & { messageId: string; conversationId: string; title: string; text: string }>; nextCursor: string | null };
};

describe('GET /api/search/enable', () => {
  test('true with a healthy engine', async () => {
    const response = await http.get('/api/search/enable', { token: alice.token });
    assert.equal(response.status, 200);
    assert.equal(response.body, true);
    assert.equal((await http.get('/api/search/enable')).status, 401);
  });
});

describe('GET /api/convos?search=', () => {
  test('ranks title-and-message matches above a single message match, and matches a prefix as you type', async () => {
    const [both, once] = await importConversations(alice, [
      { title: 'Quokka photography tips', messages: ['Where can I photograph a quokka?', 'Rottnest Island: the quokka colony is used to people.'] },
      { title: 'Island holidays', messages: ['Suggest an island holiday', 'Many islands have wildlife; one even has a quokka or two.'] },
    ]);
    await indexed();
    const full = await searchConvos(alice, 'quokka');
    assert.deepEqual(full.conversations.map((conversation) => conversation.conversationId), [both, once]);
    // LibreChat's list shape: the conversation's fields, no Mongo internals.
    assert.equal(full.conversations[0]!.title, 'Quokka photography tips');
    assert.equal(full.conversations[0]!.user, alice.user.id);
    assert.equal(full.conversations[0]!._id, undefined);
    assert.equal(full.nextCursor, null);
    assert.deepEqual((await searchConvos(alice, 'quok')).conversations.map((conversation) => conversation.conversationId), [both, once]);
    assert.deepEqual((await searchConvos(alice, 'quokka photo')).conversations.map((conversation) => conversation.conversationId), [both]);
  });

  test('never returns another user\'s matching conversations, whatever the query holds', async () => {
    const [mine] = await importConversations(mallory, [{ title: 'Wombat burrow survey', messages: ['wombat wombat wombat', 'Wombats dig long burrows.'] }]);
    await indexed();
    assert.deepEqual((await searchConvos(mallory, 'wombat')).conversations.map((conversation) => conversation.conversationId), [mine]);
    for (const text of ['wombat', 'wombat | quokka', "wombat' OR 1=1 --", '*', 'wom:*']) {
      assert.deepEqual((await searchConvos(alice, text)).conversations, [], text);
      assert.deepEqual((await searchMessages(alice, text)).messages, [], text);
    }
  });

  test('a renamed title is found by its new words and no longer by the old ones', async () => {
    const [conversationId] = await importConversations(alice, [{ title: 'Kiwi fruit storage', messages: ['How long do they keep?', 'About two weeks in the fridge.'] }]);
    await indexed();
    assert.deepEqual((await searchConvos(alice, 'kiwi')).conversations.map((conversation) => conversation.conversationId), [conversationId]);
    const renamed = await http.post('/api/convos/update', { token: alice.token, body: { arg: { conversationId, title: 'Pavlova toppings' } } });
    assert.equal(renamed.status, 200);
    await indexed();
    assert.deepEqual((await searchConvos(alice, 'pavlova')).conversations.map((conversation) => conversation.title), ['Pavlova toppings']);
    assert.deepEqual((await searchConvos(alice, 'kiwi')).conversations, []);
  });

  test('a deleted conversation is gone from both searches (at once, and from the index once drained)', async () => {
    const [kept, deleted] = await importConversations(alice, [
      { title: 'Platypus facts one', messages: ['platypus venom?', 'Males have venomous spurs.'] },
      { title: 'Platypus facts two', messages: ['platypus eggs?', 'Yes, the platypus lays eggs.'] },
    ]);
    await indexed();
    assert.equal((await searchConvos(alice, 'platypus')).conversations.length, 2);
    const removed = await http.delete('/api/convos', { token: alice.token, body: { arg: { conversationId: deleted } } });
    assert.equal(removed.status, 200);
    // Before the indexer ran: the database filter already hides it.
    assert.deepEqual((await searchConvos(alice, 'platypus')).conversations.map((conversation) => conversation.conversationId), [kept]);
    assert.ok((await searchMessages(alice, 'platypus')).messages.every((message) => message.conversationId === kept));
    await indexed();
    assert.deepEqual((await engine.searchConversations({ user: alice.user.id, text: 'platypus', limit: 10 })).hits.map((hit) => hit.conversationId), [kept]);
    assert.ok((await engine.searchMessages({ user: alice.user.id, text: 'platypus', limit: 10 })).hits.every((hit) => hit.conversationId === kept));
  });

  test('pages with the cursor, every match once; archived ones only with isArchived=true', async () => {
    const ids = await importConversations(alice, Array.from({ length: 5 }, (_, index) => ({ title: `Numbat sighting ${index + 1}`, messages: [`numbat number ${index + 1}`, 'Noted.'] })));
    await indexed();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await searchConvos(alice, 'numbat', `&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.conversations.map((conversation) => conversation.conversationId));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    const forged = await http.get('/api/convos?search=numbat&cursor=bm90LWpzb24', { token: alice.token });
    assert.equal(forged.status, 400);
    assert.match(forged.body.message, /cursor/);
    const archived = await http.post('/api/convos/archive', { token: alice.token, body: { arg: { conversationId: ids[0], isArchived: true } } });
    assert.equal(archived.status, 200);
    assert.ok(!(await searchConvos(alice, 'numbat', '&limit=10')).conversations.some((conversation) => conversation.conversationId === ids[0]));
    assert.deepEqual((await searchConvos(alice, 'numbat', '&isArchived=true')).conversations.map((conversation) => conversation.conversationId), [ids[0]]);
  });
});

describe('GET /api/messages?search=', () => {
  test('matching messages with their conversation\'s title, best first; an edit is found by its new text', async () => {
    const [conversationId] = await importConversations(alice, [{ title: 'Echidna diet', messages: ['What do they eat?', 'Ants and termites; an echidna tongue is long.'] }]);
    await indexed();
    const found = await searchMessages(alice, 'echidna');
    assert.equal(found.nextCursor, null);
    assert.equal(found.messages.length, 1);
    const [message] = found.messages;
    assert.equal(message!.conversationId, conversationId);
    assert.equal(message!.title, 'Echidna diet');
    assert.equal(message!.isCreatedByUser, false);
    assert.equal(message!.user, alice.user.id);
    assert.match(message!.text, /termites/);
    assert.deepEqual((await searchMessages(alice, 'echid')).messages.map((entry) => entry.messageId), [message!.messageId]);

    const edited = await http.put(`/api/messages/${conversationId}/${message!.messageId}`, { token: alice.token, body: { text: 'Mostly bogong moths, actually.' } });
    assert.equal(edited.status, 200);
    await indexed();
    assert.deepEqual((await searchMessages(alice, 'bogong')).messages.map((entry) => entry.messageId), [message!.messageId]);
    assert.deepEqual((await searchMessages(alice, 'termites')).messages, []);

    const removed = await http.delete(`/api/messages/${conversationId}/${message!.messageId}`, { token: alice.token });
    assert.equal(removed.status, 200);
    await indexed();
    assert.deepEqual((await searchMessages(alice, 'bogong')).messages, []);
    assert.deepEqual((await engine.searchMessages({ user: alice.user.id, text: 'bogong', limit: 10 })).hits, []);
  });

  test('pages with nextCursor through every match once', async () => {
    await importConversations(alice, [{ title: 'Dingo notes', messages: Array.from({ length: 24 }, (_, index) => `dingo note ${index}`) }]);
    await indexed();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await searchMessages(alice, 'dingo', `&pageSize=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.messages.map((message) => message.messageId));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.equal(seen.length, 24);
    assert.equal(new Set(seen).size, 24);
  });
});

describe('a chat turn', () => {
  test('the request and the final reply are searchable once the run is closed', async () => {
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token: alice.token,
      body: { endpoint: 'demo', model: 'demo-fast', text: 'Tell me about the bilby [tokens=12]', conversationId: null },
    });
    assert.equal(result.status, 200);
    const final = finalEvent(result.events)!;
    assert.ok(final, 'a final event');
    const reply = final.data.responseMessage as { messageId: string; text: string };
    // The turn's search changes are recorded just after its final event (close-run.ts), so an empty outbox
    // right after `final` proves nothing yet: poll as a client would, until the index has both.
    const found = await waitFor('the request to be searchable', async () => {
      const ids = (await searchMessages(alice, 'bilby')).messages.map((message) => message.messageId);
      return ids.length > 0 && ids;
    }, 30_000);
    assert.deepEqual(found, [final.data.requestMessage.messageId]);
    const word = reply.text.split(/\s+/).find((candidate) => /^[a-z]{4,}$/i.test(candidate));
    assert.ok(word, `a word to look for in ${reply.text}`);
    await waitFor(`the reply to be found by "${word}"`, async () => (await searchMessages(alice, word!, '&pageSize=100')).messages.some((message) => message.messageId === reply.messageId), 30_000);
    await indexed();
  });
});

describe('full reindex (POST /api/admin/search/reindex)', () => {
  test('administrators only; runs as a workflow with its progress readable; the index then equals the database', async () => {
    assert.equal((await http.post('/api/admin/search/reindex', { token: alice.token })).status, 403);
    // An index emptied behind the indexer's back (a restored backup, a new engine): the reindex refills it.
    await engine.deleteConversations([...(await Conversation.find({}, { conversationId: 1 }).lean<Array<{ conversationId: string }>>()).map((entry) => entry.conversationId)]);
    assert.deepEqual((await searchConvos(alice, 'quokka')).conversations, []);
    const started = await http.post('/api/admin/search/reindex', { token: admin.token });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.started, true);
    const done = await waitFor('the reindex to complete', async () => {
      const progress = await http.get('/api/admin/search/reindex', { token: admin.token });
      assert.equal(progress.status, 200);
      return progress.body.status === 'COMPLETED' ? progress.body : undefined;
    }, 120_000, 500);
    assert.equal(done.progress.phase, 'done');
    assert.ok(done.progress.messages > 0 && done.progress.conversations > 0, JSON.stringify(done.progress));
    await indexed();
    await assertIndexEqualsDatabase(engine);
    assert.equal((await searchConvos(alice, 'quokka')).conversations.length, 2);
  });
});

describe('without a search engine', () => {
  test('enable answers false and the search branches answer 400 instead of scanning the database', async () => {
    const config = stack.app.config;
    const redis = createRedisClient(config.REDIS_URI, 'test-no-search');
    const temporal = createTemporalClient(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
    const server = await buildServer({ config, endpoints: loadEndpointsConfig(config), redis, temporal: temporal.client, searchEngine: null }, { logger: false });
    try {
      await server.listen({ host: '127.0.0.1', port: 0 });
      const plain = createHttpClient(`http://127.0.0.1:${(server.server.address() as AddressInfo).port}`);
      assert.equal((await plain.get('/api/search/enable', { token: alice.token })).body, false);
      const convos = await plain.get('/api/convos?search=quokka', { token: alice.token });
      assert.equal(convos.status, 400);
      assert.match(convos.body.message, /search is not enabled/);
      assert.equal((await plain.get('/api/messages?search=quokka', { token: alice.token })).status, 400);
      assert.equal((await plain.get('/api/convos', { token: alice.token })).status, 200);
      assert.equal((await plain.post('/api/admin/search/reindex', { token: admin.token })).status, 404);
    } finally {
      await server.close();
      await redis.quit();
      await temporal.connection.close();
    }
  });
});
