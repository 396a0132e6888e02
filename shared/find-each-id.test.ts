import assert from 'node:assert/strict';
import { test } from 'vitest';
import { findEachId, LOOKUPS_AT_ONCE } from './find-each-id.ts';

test('reads each distinct id once, at most LOOKUPS_AT_ONCE at a time, and returns every document of each id grouped in the ids\' order', async () => {
  const ids = Array.from({ length: 30 }, (_, index) => `id-${index % 20}`);
  let inFlight = 0;
  let mostInFlight = 0;
  const asked: string[] = [];
  const found = await findEachId(ids, async (id) => {
    asked.push(id);
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    // Later ids answer sooner: the result's order must not follow the answers'.
    await new Promise((resolve) => setTimeout(resolve, 20 - Number(id.slice(3))));
    inFlight -= 1;
    return id === 'id-3' ? [] : [`${id}/a`, `${id}/b`];
  });
  assert.equal(asked.length, 20);
  assert.equal(new Set(asked).size, 20);
  assert.equal(mostInFlight, LOOKUPS_AT_ONCE);
  const expected = Array.from({ length: 20 }, (_, index) => `id-${index}`).filter((id) => id !== 'id-3').flatMap((id) => [`${id}/a`, `${id}/b`]);
  assert.deepEqual(found, expected);
});

test('no ids, no lookups; a failed lookup fails the read', async () => {
  assert.deepEqual(await findEachId([], async () => assert.fail('no lookup expected')), []);
  await assert.rejects(findEachId(['a', 'b'], async (id) => (id === 'b' ? Promise.reject(new Error('database gone')) : [id])), /database gone/);
});
