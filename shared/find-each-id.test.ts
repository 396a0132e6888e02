import assert from 'node:assert/strict';
import { test } from 'vitest';
import { findEachId, LOOKUPS_AT_ONCE, LOOKUPS_IN_PROCESS, MAX_IDS_ONE_BY_ONE } from './find-each-id.ts';

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

test('no ids, no lookups; the first failed lookup fails the read and no further lookup of it starts', async () => {
  assert.deepEqual(await findEachId([], async () => assert.fail('no lookup expected')), []);
  const asked: string[] = [];
  const ids = Array.from({ length: 50 }, (_, index) => `id-${index}`);
  await assert.rejects(
    findEachId(ids, async (id) => {
      asked.push(id);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (id === 'id-2') throw new Error('database gone');
      return [id];
    }),
    /database gone/,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(asked.length <= LOOKUPS_AT_ONCE * 2, `${asked.length} lookups started after the failure`);
});

test('reads running side by side keep at most LOOKUPS_IN_PROCESS lookups in flight in all, and every read completes', async () => {
  let inFlight = 0;
  let mostInFlight = 0;
  const reads = Array.from({ length: 6 }, (_, read) =>
    findEachId(Array.from({ length: 20 }, (_, index) => `r${read}-${index}`), async (id) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return [id];
    }),
  );
  const results = await Promise.all(reads);
  assert.equal(mostInFlight, LOOKUPS_IN_PROCESS);
  results.forEach((found, read) => assert.deepEqual(found, Array.from({ length: 20 }, (_, index) => `r${read}-${index}`)));
});

test('a list longer than MAX_IDS_ONE_BY_ONE goes to manyIds when given (one query on MongoDB), otherwise one by one', async () => {
  const ids = Array.from({ length: MAX_IDS_ONE_BY_ONE + 1 }, (_, index) => `id-${index}`);
  let many: string[] | undefined;
  let single = 0;
  const found = await findEachId(ids, async (id) => { single += 1; return [id]; }, { manyIds: async (list) => { many = list; return ['all']; } });
  assert.deepEqual(found, ['all']);
  assert.equal(single, 0);
  assert.equal(many?.length, MAX_IDS_ONE_BY_ONE + 1);
  assert.equal((await findEachId(ids, async (id) => [id])).length, MAX_IDS_ONE_BY_ONE + 1);
  assert.deepEqual(await findEachId(ids.slice(0, MAX_IDS_ONE_BY_ONE), async (id) => [id], { manyIds: async () => assert.fail('not for a list of MAX_IDS_ONE_BY_ONE') }), ids.slice(0, MAX_IDS_ONE_BY_ONE));
});
