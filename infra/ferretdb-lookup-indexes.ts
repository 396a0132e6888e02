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

/** GIN companions for FerretDB's btree indexes, created where missing. Returns how many were created. */
export async function ensureFerretdbLookupIndexes(postgresqlUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgresqlUrl, connectionTimeoutMillis: 5000, statement_timeout: 600_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ schemaname: string; tablename: string; indexdef: string }>(
      `SELECT schemaname, tablename, indexdef FROM pg_indexes
        WHERE indexdef LIKE '%USING btree%' AND indexdef LIKE '%_jsonb -> %'
          AND schemaname NOT IN ('pg_catalog', 'information_schema') AND tablename NOT LIKE '\\_ferretdb%'`,
    );
    const wanted = new Map<string, { schema: string; table: string; field: string }>();
    for (const row of rows) {
      for (const match of row.indexdef.matchAll(topLevelField)) {
        const field = match[1]!;
        wanted.set(`${row.schemaname}.${row.tablename}.${field}`, { schema: row.schemaname, table: row.tablename, field });
      }
    }
    const existing = new Set((await client.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE indexname LIKE 'dgin\\_%'`)).rows.map((row) => row.indexname));
    let created = 0;
    const indexed = new Set<string>();
    for (const [key, { schema, table, field }] of wanted) {
      const name = `dgin_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
      if (existing.has(name)) continue;
      // CONCURRENTLY: a large collection keeps taking writes while its index is built. fastupdate off: with
      // the pending list on, every lookup also reads the entries inserted since the last vacuum (measured: a
      // lookup after 40,000 inserts was no faster than a scan).
      await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${quoteIdentifier(schema)}.${quoteIdentifier(table)} USING gin ((_jsonb -> ${quoteLiteral(field)})) WITH (fastupdate = off)`);
      indexed.add(`${quoteIdentifier(schema)}.${quoteIdentifier(table)}`);
      created += 1;
    }
    // Statistics for the new expressions, so the planner picks the index at once rather than after autovacuum.
    for (const table of indexed) await client.query(`ANALYZE ${table}`);
    return created;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
