/** Equality lookups in flight at once while reading a list of ids (each takes a pooled connection). */
export const LOOKUPS_AT_ONCE = 8;

/**
 * Every document of each id, read as one equality query per distinct id, a few at a time, instead of one
 * `{field: {$in: ids}}` query. FerretDB 1.24 (the local stack's database) does not push `$in` down to
 * PostgreSQL: it reads the whole collection, or with another equality in the filter every document that
 * matches that one, and filters them itself. 20 ids in 20,000 messages took 1.5 s that way against 18 ms
 * by id (bench/README.md, "Reads by id on FerretDB"). An equality filter is served by an index on both
 * FerretDB (its GIN lookup indexes, infra/ferretdb-lookup-indexes.ts) and MongoDB, where the extra round
 * trips for the lists read this way (a batch of the search outbox, a page of search hits, a message's
 * files) cost a millisecond or two.
 *
 * The documents come back grouped by id in the order of the ids' first appearance.
 */
export async function findEachId<T>(ids: readonly string[], findById: (id: string) => Promise<T[]>): Promise<T[]> {
  const unique = [...new Set(ids)];
  const found: T[][] = new Array(unique.length);
  let next = 0;
  const lookUp = async () => {
    while (next < unique.length) {
      const index = next++;
      found[index] = await findById(unique[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUPS_AT_ONCE, unique.length) }, lookUp));
  return found.flat();
}
