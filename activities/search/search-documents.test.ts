/**
 * The search indexer's reads of the documents behind outbox entries, on the test run's FerretDB: one
 * equality query per id (FerretDB 1.24 reads a whole collection for `$in`; shared/find-each-id.ts), with the
 * same answers `$in` gave: the current state, an id two users hold resolved to the same user every time,
 * and ids that no longer exist left out.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { afterAll, beforeAll, test } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { connectDatabase } from '../../shared/database.ts';
import { Conversation, Message } from '../../shared/models/index.ts';
import { cleanUpTestData, testEnvironment } from '../../test/helpers/test-app.ts';
import { currentConversations, currentMessages } from './search-documents.ts';

const config = loadConfig(testEnvironment());
const filters: Array<{ collection: string; method: string; filter: Record<string, unknown> }> = [];

beforeAll(async () => {
  await connectDatabase(config.MONGO_URI);
  mongoose.set('debug', (collection: string, method: string, filter: Record<string, unknown>) => {
    filters.push({ collection, method, filter });
  });
});

afterAll(async () => {
  mongoose.set('debug', false);
  await cleanUpTestData(config);
});

test('messages and conversations are read by id, one equality filter each, with the answers $in gave', async () => {
  const [alice, bob] = ['a' + new mongoose.Types.ObjectId().toString(), 'b' + new mongoose.Types.ObjectId().toString()];
  const conversationId = randomUUID();
  const shared = randomUUID();
  const own = Array.from({ length: 12 }, () => randomUUID());
  await Conversation.create({ conversationId, user: alice, title: 'Okapi notes', tags: ['zoo'] });
  await Message.create([
    ...own.map((messageId, index) => ({ messageId, conversationId, user: alice, sender: 'User', text: `okapi ${index}`, isCreatedByUser: true })),
    // A client-chosen id two users hold: the index takes the first user in order, on every read.
    { messageId: shared, conversationId, user: bob, sender: 'Assistant', text: 'bob\'s', isCreatedByUser: false },
    { messageId: shared, conversationId, user: alice, sender: 'Assistant', text: 'alice\'s', isCreatedByUser: false },
  ]);
  const gone = randomUUID();
  filters.length = 0;

  const messages = await currentMessages([...own, shared, gone, own[0]!]);
  const conversations = await currentConversations([conversationId, gone, conversationId]);

  assert.deepEqual([...messages.keys()].sort(), [...own, shared].sort());
  assert.equal(messages.get(own[5]!)?.text, 'okapi 5');
  assert.equal(messages.get(shared)?.user, alice);
  assert.equal(messages.get(shared)?.text, 'alice\'s');
  assert.deepEqual([...conversations.keys()], [conversationId]);
  assert.equal(conversations.get(conversationId)?.title, 'Okapi notes');

  const reads = filters.filter((entry) => entry.method === 'find');
  // One per distinct id: 12 own + shared + gone messages, the conversation and gone.
  assert.equal(reads.filter((entry) => entry.collection === 'messages').length, 14);
  assert.equal(reads.filter((entry) => entry.collection === 'conversations').length, 2);
  for (const { filter } of reads) {
    assert.deepEqual(Object.keys(filter).length, 1, JSON.stringify(filter));
    assert.equal(typeof Object.values(filter)[0], 'string', `an equality filter, not ${JSON.stringify(filter)}`);
  }
});
