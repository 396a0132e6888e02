import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ValidationError } from '../../shared/errors.ts';
import type { SearchConversationDocument, SearchEngine, SearchMessageDocument, SearchPage, SearchQuery } from './search-engine.ts';

/**
 * One behaviour, every engine: search-engine.test.ts runs this suite against PostgreSQL full-text search
 * always and against Meilisearch when MEILI_HOST is set. Each test writes under users of its own, so tests
 * never see each other's documents even in one schema or index.
 */
export interface EngineUnderTest {
  engine: SearchEngine;
  /** The same engine pointed at a port nothing listens on (connection refused). */
  unreachable: SearchEngine;
  stop(): Promise<void>;
}

const at = (second: number) => new Date(Date.UTC(2026, 0, 1) + second * 1000).toISOString();
const unique = () => randomBytes(6).toString('hex');
const newUser = () => `user-${unique()}`;
const newId = () => `${unique()}-${unique()}`;

function conversation(user: string, title: string, fields: Partial<SearchConversationDocument> = {}): SearchConversationDocument {
  return { conversationId: newId(), user, title, tags: [], updatedAt: at(1), ...fields };
}

function message(user: string, conversationId: string, text: string, fields: Partial<SearchMessageDocument> = {}): SearchMessageDocument {
  return { messageId: newId(), conversationId, user, sender: 'User', text, isCreatedByUser: true, updatedAt: at(1), ...fields };
}

/** Every page of a query, following nextCursor; fails if it does not end. */
async function allPages<T>(search: (query: SearchQuery) => Promise<SearchPage<T>>, query: Omit<SearchQuery, 'cursor'>): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await search({ ...query, ...(cursor ? { cursor } : {}) });
    pages.push(page.hits);
    cursor = page.nextCursor;
    assert.ok(pages.length <= 50, 'paging did not end');
  } while (cursor);
  return pages;
}

export function searchEngineSuite(label: string, start: () => Promise<EngineUnderTest>) {
  describe(label, () => {
    let engine: SearchEngine;
    let under: EngineUnderTest | undefined;
    const conversationIds = async (user: string, text: string) => (await engine.searchConversations({ user, text, limit: 50 })).hits.map((hit) => hit.conversationId);
    const messageIds = async (user: string, text: string) => (await engine.searchMessages({ user, text, limit: 50 })).hits.map((hit) => hit.messageId);

    beforeAll(async () => {
      under = await start();
      engine = under.engine;
      await engine.prepare();
      // prepare() twice (an API and a worker starting) changes nothing.
      await engine.prepare();
    });
    afterAll(async () => {
      await under?.stop();
    });

    test('ranking: a conversation matching in title and messages ranks above one matching in either; message-only matches are found', async () => {
      const user = newUser();
      const both = conversation(user, 'Quantum physics notes');
      const titleOnly = conversation(user, 'Quantum cooking');
      const messagesOnly = conversation(user, 'Groceries');
      const neither = conversation(user, 'Holidays');
      await engine.upsertConversations([both, titleOnly, messagesOnly, neither]);
      await engine.upsertMessages([
        message(user, both.conversationId, 'entanglement in quantum systems'),
        message(user, messagesOnly.conversationId, 'buy a quantum of solace on the way home'),
        message(user, neither.conversationId, 'beach and sun'),
      ]);
      const hits = (await engine.searchConversations({ user, text: 'quantum', limit: 10 })).hits;
      assert.equal(hits[0]?.conversationId, both.conversationId);
      assert.deepEqual(new Set(hits.map((hit) => hit.conversationId)), new Set([both.conversationId, titleOnly.conversationId, messagesOnly.conversationId]));
      assert.ok(hits[0]!.score > hits[1]!.score, 'the two-field match scores strictly higher');
      assert.deepEqual(
        (await engine.searchMessages({ user, text: 'quantum', limit: 10 })).hits.map((hit) => hit.conversationId).sort(),
        [both.conversationId, messagesOnly.conversationId].sort(),
      );
    });

    test('prefix: the last word matches as typed, earlier words whole', async () => {
      const user = newUser();
      const found = conversation(user, 'Kubernetes deployment checklist');
      await engine.upsertConversations([found]);
      const reply = message(user, found.conversationId, 'Rolling restarts keep the service available');
      await engine.upsertMessages([reply]);
      assert.deepEqual(await conversationIds(user, 'kubern'), [found.conversationId]);
      assert.deepEqual(await conversationIds(user, 'Kubernetes depl'), [found.conversationId]);
      assert.deepEqual(await conversationIds(user, 'KUBERNETES DEPLOYMENT CHECK'), [found.conversationId], 'case does not matter');
      assert.deepEqual(await messageIds(user, 'rolling resta'), [reply.messageId]);
      assert.deepEqual(await conversationIds(user, 'kubernetesx'), []);
      assert.deepEqual(await conversationIds(user, 'kubern deployment'), [], 'only the last word is a prefix');
    });

    test("another user's matching documents are never returned, whatever the query holds", async () => {
      const owner = newUser();
      const other = newUser();
      const hostileUser = `${newUser()}" OR user != "x' OR '1'='1\\`;
      const mine = conversation(owner, 'Secret launch plans');
      const theirs = conversation(other, 'Secret launch plans');
      const hostiles = conversation(hostileUser, 'Secret hostile plans');
      await engine.upsertConversations([mine, theirs, hostiles]);
      await engine.upsertMessages([
        message(owner, mine.conversationId, 'the secret is safe'),
        message(other, theirs.conversationId, 'the secret is safe'),
        message(hostileUser, hostiles.conversationId, 'the secret is safe'),
      ]);
      const hostileTexts = [
        'secret',
        "secret' | 'plans",
        'secret:* | !x',
        "') OR 1=1 --",
        'secret & !nothing | launch',
        '*:*',
        '(secret | plans) & (x | !y)',
        'secret <-> launch <2> plans',
        'secret\\',
        '\\\\\'\'\'',
        '"secret" OR user = "' + other + '"',
        `secret ${other}`,
        'a:* | b:* | c:* | s:*',
        'secret'.repeat(200),
        `${'secret '.repeat(500)}launch`,
      ];
      for (const text of hostileTexts) {
        for (const user of [owner, hostileUser]) {
          const conversations = (await engine.searchConversations({ user, text, limit: 50 })).hits;
          const messages = (await engine.searchMessages({ user, text, limit: 50 })).hits;
          const allowed = user === owner ? mine.conversationId : hostiles.conversationId;
          for (const hit of [...conversations, ...messages]) assert.equal(hit.conversationId, allowed, `query ${JSON.stringify(text)} as ${user} returned another user's document`);
        }
      }
      assert.deepEqual(await conversationIds(owner, 'secret'), [mine.conversationId]);
      assert.deepEqual(await conversationIds(hostileUser, 'secret'), [hostiles.conversationId]);
      assert.deepEqual(await conversationIds(newUser(), 'secret'), [], 'a user with nothing indexed finds nothing');
      assert.deepEqual(await conversationIds(owner, '*'), [], 'a query without words finds nothing (never everything)');
      assert.deepEqual(await conversationIds(owner, '   '), []);
    });

    test('deleted documents are gone; deleting a conversation deletes its messages; deletes are idempotent', async () => {
      const user = newUser();
      const kept = conversation(user, 'Zebra migration kept');
      const deleted = conversation(user, 'Zebra migration deleted');
      await engine.upsertConversations([kept, deleted]);
      const keptMessages = [message(user, kept.conversationId, 'zebra stripes'), message(user, kept.conversationId, 'zebra crossing')];
      const deletedMessage = message(user, deleted.conversationId, 'zebra herd');
      await engine.upsertMessages([...keptMessages, deletedMessage]);
      assert.equal((await conversationIds(user, 'zebra')).length, 2);

      await engine.deleteConversations([deleted.conversationId]);
      assert.deepEqual(await conversationIds(user, 'zebra'), [kept.conversationId]);
      assert.deepEqual((await messageIds(user, 'zebra')).sort(), keptMessages.map((entry) => entry.messageId).sort());

      await engine.deleteMessages([keptMessages[0]!.messageId]);
      assert.deepEqual(await messageIds(user, 'zebra'), [keptMessages[1]!.messageId]);
      assert.deepEqual(await conversationIds(user, 'stripes'), [], 'a deleted message no longer finds its conversation');

      await engine.deleteConversations([deleted.conversationId, newId()]);
      await engine.deleteMessages([keptMessages[0]!.messageId, newId()]);
      await engine.deleteConversations([]);
      await engine.deleteMessages([]);
      assert.deepEqual(await conversationIds(user, 'zebra'), [kept.conversationId]);
    });

    test('a renamed conversation is found by its new title, not its old one', async () => {
      const user = newUser();
      const renamed = conversation(user, 'Alphaname original', { updatedAt: at(10) });
      await engine.upsertConversations([renamed]);
      assert.deepEqual(await conversationIds(user, 'alphaname'), [renamed.conversationId]);
      await engine.upsertConversations([{ ...renamed, title: 'Bravoname renamed', updatedAt: at(20) }]);
      assert.deepEqual(await conversationIds(user, 'bravoname'), [renamed.conversationId]);
      assert.deepEqual(await conversationIds(user, 'alphaname'), []);
    });

    test('an older version never overwrites a newer one (separate batches and within one batch)', async () => {
      const user = newUser();
      const renamed = conversation(user, 'Newertitle', { updatedAt: at(20) });
      await engine.upsertConversations([renamed]);
      await engine.upsertConversations([{ ...renamed, title: 'Oldertitle', updatedAt: at(10) }]);
      assert.deepEqual(await conversationIds(user, 'newertitle'), [renamed.conversationId]);
      assert.deepEqual(await conversationIds(user, 'oldertitle'), []);

      const edited = message(user, renamed.conversationId, 'newerbody', { updatedAt: at(30) });
      await engine.upsertMessages([edited]);
      await engine.upsertMessages([{ ...edited, text: 'olderbody', updatedAt: at(5) }]);
      assert.deepEqual(await messageIds(user, 'newerbody'), [edited.messageId]);
      assert.deepEqual(await messageIds(user, 'olderbody'), []);

      const twice = message(user, renamed.conversationId, 'laterbatchtext', { updatedAt: at(40) });
      await engine.upsertMessages([twice, { ...twice, text: 'earlierbatchtext', updatedAt: at(35) }]);
      assert.deepEqual(await messageIds(user, 'laterbatchtext'), [twice.messageId]);
      assert.deepEqual(await messageIds(user, 'earlierbatchtext'), []);

      const listed = await engine.listDocuments('messages', undefined, 10_000);
      assert.equal(listed.find((entry) => entry.id === edited.messageId)?.updatedAt, at(30));
    });

    test('replaying an upsert batch changes nothing', async () => {
      const user = newUser();
      const conversations = [conversation(user, 'Replay target one'), conversation(user, 'Replay target two')];
      const messages = conversations.map((entry) => message(user, entry.conversationId, 'replayed words here'));
      await engine.upsertConversations(conversations);
      await engine.upsertMessages(messages);
      const before = { conversations: await engine.searchConversations({ user, text: 'replay', limit: 10 }), messages: await engine.searchMessages({ user, text: 'replayed', limit: 10 }) };
      for (let replay = 0; replay < 3; replay += 1) {
        await engine.upsertConversations(conversations);
        await engine.upsertMessages(messages);
      }
      assert.deepEqual(await engine.searchConversations({ user, text: 'replay', limit: 10 }), before.conversations);
      assert.deepEqual(await engine.searchMessages({ user, text: 'replayed', limit: 10 }), before.messages);
      const listed = new Set((await engine.listDocuments('messages', undefined, 10_000)).map((entry) => entry.id));
      for (const entry of messages) assert.ok(listed.has(entry.messageId));
    });

    test('paging with the cursor returns each hit exactly once, best first', async () => {
      const user = newUser();
      const conversations = Array.from({ length: 7 }, (_, index) => conversation(user, `Pagingword ${'pagingword '.repeat(index)}`.trim()));
      await engine.upsertConversations(conversations);
      const messages = conversations.flatMap((entry, index) => Array.from({ length: 2 }, () => message(user, entry.conversationId, `pagingword ${'filler '.repeat(index)}`)));
      await engine.upsertMessages(messages);

      const conversationPages = await allPages((query) => engine.searchConversations(query), { user, text: 'pagingword', limit: 3 });
      assert.deepEqual(conversationPages.map((page) => page.length), [3, 3, 1]);
      const conversationHits = conversationPages.flat();
      assert.deepEqual(new Set(conversationHits.map((hit) => hit.conversationId)), new Set(conversations.map((entry) => entry.conversationId)));
      assert.equal(new Set(conversationHits.map((hit) => hit.conversationId)).size, conversationHits.length, 'no conversation twice');
      for (let index = 1; index < conversationHits.length; index += 1) assert.ok(conversationHits[index - 1]!.score >= conversationHits[index]!.score, 'best first across pages');

      const messagePages = await allPages((query) => engine.searchMessages(query), { user, text: 'pagingword', limit: 4 });
      assert.deepEqual(messagePages.map((page) => page.length), [4, 4, 4, 2]);
      const messageHits = messagePages.flat().map((hit) => hit.messageId);
      assert.deepEqual([...messageHits].sort(), messages.map((entry) => entry.messageId).sort());

      const single = await engine.searchMessages({ user, text: 'pagingword', limit: 14 });
      assert.equal(single.hits.length, 14);
      assert.equal(single.nextCursor, undefined, 'no cursor after the last page');
      await assert.rejects(engine.searchMessages({ user, text: 'pagingword', limit: 3, cursor: 'not a cursor' }), ValidationError);
      await assert.rejects(engine.searchConversations({ user, text: 'pagingword', limit: 3, cursor: Buffer.from('{"x":1}').toString('base64url') }), ValidationError);
    });

    test('listDocuments walks the index in id order, each id once, with its updatedAt', async () => {
      const user = newUser();
      const stamp = unique();
      const ids = ['b', 'a', 'e', 'c', 'd'].map((letter) => `zz-list-${stamp}-${letter}`);
      await engine.upsertConversations(ids.map((conversationId, index) => conversation(user, 'Listed', { conversationId, updatedAt: at(100 + index) })));
      const walked: Array<{ id: string; updatedAt: string }> = [];
      let afterId: string | undefined = `zz-list-${stamp}-`;
      for (;;) {
        const page = await engine.listDocuments('conversations', afterId, 2);
        if (page.length === 0) break;
        assert.ok(page.length <= 2);
        walked.push(...page);
        afterId = page.at(-1)!.id;
      }
      const ours = walked.filter((entry) => entry.id.startsWith(`zz-list-${stamp}-`));
      assert.deepEqual(ours.map((entry) => entry.id), [...ids].sort());
      assert.deepEqual(ours.map((entry) => entry.updatedAt), [...ids].sort().map((id) => at(100 + ids.indexOf(id))));
      const ordered = walked.map((entry) => entry.id);
      assert.deepEqual(ordered, [...ordered].sort(), 'ascending ids');
    });

    test('healthy: true when the engine answers, false (never a throw) when the connection is refused', async () => {
      assert.equal(await engine.healthy(), true);
      assert.equal(await under!.unreachable.healthy(), false);
      await assert.rejects(under!.unreachable.searchMessages({ user: newUser(), text: 'anything', limit: 5 }));
    });
  });
}
