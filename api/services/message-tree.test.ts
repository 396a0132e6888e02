import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';
import { readExport } from './conversation-import-service.ts';
import { cloneTree, directPath, pathWithBranches, splitAtTargetLevel, upToTargetLevel, type TreeMessage } from './message-tree.ts';

const message = (messageId: string, parentMessageId = ROOT_PARENT_MESSAGE_ID, createdAt?: string): TreeMessage => ({ messageId, parentMessageId, createdAt, text: messageId });
const ids = (messages: TreeMessage[]) => messages.map((item) => item.messageId).sort();

// r ─┬─ a ── c
//    └─ b ── d ── e
const tree = [message('r'), message('a', 'r'), message('b', 'r'), message('c', 'a'), message('d', 'b'), message('e', 'd')];

describe('branch selection', () => {
  test('directPath is the target and its ancestors, root first', () => {
    assert.deepEqual(directPath(tree, 'd').map((item) => item.messageId), ['r', 'b', 'd']);
    assert.deepEqual(directPath(tree, 'missing'), []);
  });

  test('pathWithBranches adds the siblings along the path but not the target\'s children', () => {
    assert.deepEqual(ids(pathWithBranches(tree, 'd')), ['a', 'b', 'd', 'r']);
  });

  test('upToTargetLevel keeps every message on the target\'s level and above', () => {
    assert.deepEqual(ids(upToTargetLevel(tree, 'b')), ['a', 'b', 'r']);
    assert.deepEqual(ids(upToTargetLevel(tree, 'd')), ['a', 'b', 'c', 'd', 'r']);
  });

  test('splitAtTargetLevel makes the target\'s level the roots', () => {
    const split = splitAtTargetLevel(tree, 'c');
    assert.deepEqual(ids(split), ['c', 'd', 'e']);
    assert.equal(split.find((item) => item.messageId === 'd')!.parentMessageId, ROOT_PARENT_MESSAGE_ID);
    assert.equal(split.find((item) => item.messageId === 'e')!.parentMessageId, 'd');
  });
});

describe('cloneTree', () => {
  test('new ids, parents remapped and before their children, children at least 1 ms after their parent', () => {
    const input = [message('child', 'parent', '2024-01-01T00:00:00.000Z'), message('parent', ROOT_PARENT_MESSAGE_ID, '2024-01-01T00:00:05.000Z')];
    const [parent, child] = cloneTree(input);
    assert.equal(parent!.text, 'parent');
    assert.equal(parent!.parentMessageId, ROOT_PARENT_MESSAGE_ID);
    assert.equal(child!.parentMessageId, parent!.messageId);
    assert.notEqual(child!.messageId, 'child');
    assert.equal(child!.createdAt.getTime(), parent!.createdAt.getTime() + 1);
  });

  test('a parent outside the set makes a root; a cycle is cut rather than lost', () => {
    const cloned = cloneTree([message('x', 'absent'), message('p', 'q'), message('q', 'p')]);
    assert.equal(cloned.length, 3);
    const byText = new Map(cloned.map((item) => [item.text, item]));
    assert.equal(byText.get('x')!.parentMessageId, ROOT_PARENT_MESSAGE_ID);
    const roots = cloned.filter((item) => item.parentMessageId === ROOT_PARENT_MESSAGE_ID);
    assert.equal(roots.length, 2);
  });

  test('a very long conversation is walked without recursion', () => {
    const chain = Array.from({ length: 20_000 }, (_, index) => message(`m${index}`, index === 0 ? ROOT_PARENT_MESSAGE_ID : `m${index - 1}`));
    assert.equal(cloneTree(chain).length, 20_000);
    assert.equal(directPath(chain, 'm19999').length, 20_000);
    assert.equal(upToTargetLevel(chain, 'm19999').length, 20_000);
  });
});

test('a deep recursive LibreChat export is read without exhausting the stack', () => {
  const depth = 3_000;
  // Written as text: JSON.stringify itself recurses, JSON.parse (what the server runs) does not overflow.
  let text = '{"conversationId":"c","title":"Deep","recursive":true,"messages":[';
  for (let index = 0; index < depth; index += 1) text += `{"messageId":"m${index}","text":"message ${index}","isCreatedByUser":${index % 2 === 0},"children":[`;
  text += ']}'.repeat(depth) + ']}';
  const { format, conversations } = readExport(JSON.parse(text));
  assert.equal(format, 'librechat');
  assert.equal(conversations[0]!.messages.length, depth);
  assert.equal(conversations[0]!.messages[depth - 1]!.parentMessageId, `m${depth - 2}`);
});
