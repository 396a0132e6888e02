import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * FerretDB 1.24 on PostgreSQL stores each document as one `_jsonb` column and turns an equality filter into
 * `WHERE _jsonb->$1 @> $2`. Two things kept every such lookup a sequential scan of the whole collection
 * (measured in bench/README.md, "FerretDB lookups": 32 ms per lookup at 50,000 documents, growing with the
 * data): the btree indexes FerretDB creates for the models' indexes cannot serve `@>`, and PostgreSQL's
 * generic plan for the prepared statement cannot match an index on `_jsonb->'field'` because the field is a
 * parameter. The fix is outside FerretDB and outside durachat's code (which stays plain MongoDB):
 * - FerretDB connects with `plan_cache_mode=force_custom_plan` (`withCustomPlans`), so each lookup is planned
 *   with its field name;
 * - every top-level field that a FerretDB btree index covers also gets a GIN index on `(_jsonb->'field')`
 *   (`ensureFerretdbLookupIndexes`), which serves `@>`. Measured: 2 ms per lookup at 50,000 documents.
 * `$in` is not pushed down by FerretDB 1.24 at all (it reads the collection); nothing here changes that.
 */
export function withCustomPlans(postgresqlUrl: string): string {
  const url = new URL(postgresqlUrl);
  if (!url.searchParams.has('plan_cache_mode')) url.searchParams.set('plan_cache_mode', 'force_custom_plan');
  return url.toString();
}

const topLevelField = /\(\(_jsonb -> '([^']+)'::text\)\)/g;

/**
 * GIN companions for FerretDB's btree indexes, created where missing. Returns the `schema.table.field` of each
 * index created. `schemas` limits the pass to those PostgreSQL schemas (FerretDB names a database's schema
 * after it).
 *
 * A pass works index by index and table by table, and skips, without failing, one whose table was dropped
 * meanwhile (FerretDB drops a database's schema), is locked past `lock_timeout`, or whose build PostgreSQL
 * chose as a deadlock's victim (a drop waiting on the build while the build waits on the drop's transaction):
 * the next pass takes it up, dropping and rebuilding an index an interrupted build left INVALID.
 */
export async function ensureFerretdbLookupIndexes(postgresqlUrl: string, options: { schemas?: string[] } = {}): Promise<string[]> {
  const client = new pg.Client({ connectionString: postgresqlUrl, connectionTimeoutMillis: 5000, statement_timeout: 600_000 });
  await client.connect();
  try {
    // One pass at a time on a database (a second npm start, a bench stack): an index another pass is still
    // building reads as INVALID and would be taken for an interrupted one. The lock goes with the session.
    if (!(await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtext('durachat.ferretdb-lookup-indexes')) AS locked`)).rows[0]?.locked) return [];
    await client.query(`SET lock_timeout = '10s'`);
    // The candidates from the catalogue alone; each definition is then read on its own (reading it opens the
    // index, which waits for a lock on it and fails once it is gone).
    const { rows: candidates } = await client.query<{ oid: number; schemaname: string; tablename: string }>(
      `SELECT i.indexrelid AS oid, n.nspname AS schemaname, t.relname AS tablename
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
         JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE am.amname = 'btree' AND i.indexprs IS NOT NULL
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          AND t.relname NOT LIKE '\\_ferretdb%' AND ($1::text[] IS NULL OR n.nspname = ANY($1::text[]))`,
      [options.schemas ?? null],
    );
    const wanted = new Map<string, { schema: string; table: string; field: string }>();
    for (const candidate of candidates) {
      let indexdef: string | null = null;
      await unlessGone(async () => {
        indexdef = (await client.query<{ indexdef: string | null }>('SELECT pg_get_indexdef($1::oid) AS indexdef', [candidate.oid])).rows[0]?.indexdef ?? null;
      });
      for (const match of (indexdef ?? '').matchAll(topLevelField)) {
        const field = match[1]!;
        wanted.set(`${candidate.schemaname}.${candidate.tablename}.${field}`, { schema: candidate.schemaname, table: candidate.tablename, field });
      }
    }
    const existing = new Map(
      (await client.query<{ name: string; valid: boolean }>(
        `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'dgin\\_%'`,
      )).rows.map((row) => [row.name, row.valid]),
    );
    const created: string[] = [];
    const indexed = new Set<string>();
    for (const [key, { schema, table, field }] of wanted) {
      const name = `dgin_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
      if (existing.get(name) === true) continue;
      const qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
      const done = await unlessGone(async () => {
        if (existing.get(name) === false) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(schema)}.${name}`);
        // CONCURRENTLY: a large collection keeps taking writes while its index is built. fastupdate off: with
        // the pending list on, every lookup also reads the entries inserted since the last vacuum (measured: a
        // lookup after 40,000 inserts was no faster than a scan).
        // No lock timeout for the build itself: it also waits for every older transaction in the database (a
        // long search batch, a dump), and a build cut short leaves an index that costs writes and serves no
        // read until the next pass. statement_timeout still bounds it; a drop under it still ends it at once.
        await client.query('SET lock_timeout = 0');
        try {
          await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${qualified} USING gin ((_jsonb -> ${quoteLiteral(field)})) WITH (fastupdate = off)`);
        } finally {
          await client.query(`SET lock_timeout = '10s'`);
        }
      });
      if (!done) continue;
      indexed.add(qualified);
      created.push(key);
    }
    // Statistics for the new expressions, so the planner picks the index at once rather than after autovacuum.
    for (const table of indexed) await unlessGone(() => client.query(`ANALYZE ${table}`));
    return created;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * PostgreSQL's codes for a schema or table that no longer exists, a lock not had within `lock_timeout`, and a
 * deadlock's victim; and the internal error of a catalogue function whose relation was dropped under it.
 */
const skippedCodes = new Set(['3F000', '42P01', '55P03', '40P01']);
const droppedUnder = /^(could not open relation with OID|cache lookup failed for (relation|index)) \d+$/;

/** Runs `work`; false when what it works on went away or stayed locked (see above), any other failure is thrown. */
async function unlessGone(work: () => Promise<unknown>): Promise<boolean> {
  try {
    await work();
    return true;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (skippedCodes.has(code ?? '') || (code === 'XX000' && droppedUnder.test(message ?? ''))) return false;
    throw error;
  }
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
