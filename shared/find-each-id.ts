/** Equality lookups one read keeps in flight. */
export const LOOKUPS_AT_ONCE = 8;
/** Equality lookups the whole process keeps in flight, across every read (the driver's pool is 100 connections). */
export const LOOKUPS_IN_PROCESS = 32;
/** Longer lists are read with the `manyIds` query when the caller gives one (see below). */
export const MAX_IDS_ONE_BY_ONE = 100;

let inFlight = 0;
const waiting: Array<() => void> = [];

async function takeSlot(): Promise<void> {
  if (inFlight < LOOKUPS_IN_PROCESS) {
    inFlight += 1;
    return;
  }
  // Handed over by a lookup that ends (giveSlot): the count stays as it is.
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function giveSlot(): void {
  const next = waiting.shift();
  if (next) next();
  else inFlight -= 1;
}

/**
 * Every document of each id, read as one equality query per distinct id, a few at a time, instead of one
 * `{field: {$in: ids}}` query. FerretDB 1.24 (the local stack's database) does not push `$in` down to
 * PostgreSQL: it reads the whole collection, or with another equality in the filter every document that
 * matches that one, and filters them itself. 20 ids in 20,000 messages took 1.5 s that way against 18 ms
 * by id (bench/README.md, "Search on `npm start`'s stack, and reads by id on FerretDB"). An equality filter
 * is served by an index on both FerretDB (its GIN lookup indexes, infra/ferretdb-lookup-indexes.ts) and
 * MongoDB.
 *
 * On MongoDB each id costs a round trip where `$in` costs one for all, so lists longer than
 * MAX_IDS_ONE_BY_ONE go to `manyIds` (the caller's `$in` query) when it is given: a scan of the collection
 * on FerretDB then, but a bounded number of round trips on MongoDB. The lists read here (an outbox batch, a
 * page of search hits, a message's files) are shorter.
 *
 * The documents come back grouped by id in the order of the ids' first appearance (`manyIds`: in its own
 * order). The first failed lookup fails the read, and no further lookup of it starts.
 */
export async function findEachId<T>(ids: readonly string[], findById: (id: string) => Promise<T[]>, options: { manyIds?: (ids: string[]) => Promise<T[]> } = {}): Promise<T[]> {
  const unique = [...new Set(ids)];
  if (unique.length > MAX_IDS_ONE_BY_ONE && options.manyIds) return options.manyIds(unique);
  const found: T[][] = new Array(unique.length);
  let next = 0;
  let failed = false;
  const lookUp = async () => {
    while (next < unique.length && !failed) {
      const index = next++;
      await takeSlot();
      try {
        found[index] = await findById(unique[index]!);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        giveSlot();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUPS_AT_ONCE, unique.length) }, lookUp));
  return found.flat();
}
