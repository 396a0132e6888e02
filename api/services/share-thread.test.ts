import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';
import { anonymizeMessages } from './share-service.ts';
import { threadUpTo } from './share-thread.ts';

const root = ROOT_PARENT_MESSAGE_ID;
// q1 → a1 → q2 → a2, with a regenerated sibling a1b of a1.
const messages = [
  { messageId: 'q1', parentMessageId: root },
  { messageId: 'a1', parentMessageId: 'q1' },
  { messageId: 'a1b', parentMessageId: 'q1' },
  { messageId: 'q2', parentMessageId: 'a1' },
  { messageId: 'a2', parentMessageId: 'q2' },
];

describe('threadUpTo', () => {
  test('keeps every level down to the target\'s, siblings included, in stored order', () => {
    assert.deepEqual(threadUpTo(messages, 'q1').map((message) => message.messageId), ['q1']);
    assert.deepEqual(threadUpTo(messages, 'a1').map((message) => message.messageId), ['q1', 'a1', 'a1b']);
    assert.deepEqual(threadUpTo(messages, 'q2').map((message) => message.messageId), ['q1', 'a1', 'a1b', 'q2']);
  });

  test('shares everything when the target is not among the messages', () => {
    assert.equal(threadUpTo(messages, 'gone').length, messages.length);
  });
});

describe('anonymizeMessages', () => {
  test('replaces ids consistently whatever the order, keeps the root parent, and drops the owner', () => {
    const stored = [...messages].reverse().map((message) => ({ ...message, user: 'owner-id', _id: 'object-id', model: 'asst_secret' }));
    const anonymised = anonymizeMessages('share-1', stored, 'convo_x');
    const byOriginal = new Map(stored.map((message, index) => [message.messageId, anonymised[index]!]));
    assert.equal(byOriginal.get('q1')!.parentMessageId, root);
    assert.equal(byOriginal.get('a1')!.parentMessageId, byOriginal.get('q1')!.messageId);
    assert.equal(byOriginal.get('a2')!.parentMessageId, byOriginal.get('q2')!.messageId);
    assert.equal(new Set(anonymised.map((message) => message.messageId)).size, messages.length);
    const text = JSON.stringify(anonymised);
    for (const secret of ['owner-id', 'object-id', 'asst_secret', '"q1"', '"a1"']) assert.equal(text.includes(secret), false, secret);
    // Another link of the same conversation gets other ids.
    assert.notEqual(anonymizeMessages('share-2', stored, 'convo_y')[0]!.messageId, anonymised[0]!.messageId);
  });
});
