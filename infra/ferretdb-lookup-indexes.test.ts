/**
 * The local stack's FerretDB lookups on PostgreSQL: FerretDB connects with custom plans, and each field its
 * btree indexes cover gets a GIN index that serves FerretDB's `_jsonb->'field' @> value` filter
 * (infra/ferretdb-lookup-indexes.ts). Checked on this test run's own FerretDB and PostgreSQL database.
 */
import assert from 'node:assert/strict';
import mongoose from 'mongoose';
import pg from 'pg';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ensureFerretdbLookupIndexes, withCustomPlans } from './ferretdb-lookup-indexes.ts';
import { testEnvironment } from '../test/helpers/test-app.ts';
import { loadConfig } from '../shared/config.ts';

const postgresqlUrl = process.env.TEST_FERRETDB_POSTGRESQL_URL;
// One per test run: each run has its own PostgreSQL database (FerretDB names the table `lookup_probe_<hash>`).
const collection = 'lookup_probe';

test('FerretDB is started with custom plans, keeping the URL\'s own parameters', () => {
  assert.equal(new URL(withCustomPlans('postgres://u:p@127.0.0.1:5432/db')).searchParams.get('plan_cache_mode'), 'force_custom_plan');
  const kept = new URL(withCustomPlans('postgres://u:p@127.0.0.1:5432/db?sslmode=disable&plan_cache_mode=auto'));
  assert.equal(kept.searchParams.get('sslmode'), 'disable');
  assert.equal(kept.searchParams.get('plan_cache_mode'), 'auto', 'an explicit choice is kept');
});

// Without PostgreSQL the test run's FerretDB is on its SQLite fallback, where none of this applies.
describe.skipIf(!postgresqlUrl)('lookup indexes (skipped: this test run\'s FerretDB is not on PostgreSQL)', () => {
  const config = loadConfig(testEnvironment());
  let connection: mongoose.Connection;

  beforeAll(async () => {
    connection = await mongoose.createConnection(config.MONGO_URI).asPromise();
    const documents = connection.collection(collection);
    await documents.createIndex({ lookupKey: 1, owner: 1 }, { unique: true });
    await documents.insertMany(Array.from({ length: 300 }, (_, index) => ({ lookupKey: `k-${index}`, owner: `o-${index % 3}`, nested: { field: index } })));
  });
  afterAll(async () => {
    await connection?.dropCollection(collection).catch(() => undefined);
    await connection?.close();
  });

  test('each field a FerretDB index covers gets a GIN index PostgreSQL uses for FerretDB\'s filter; a second pass adds none; lookups still answer', async () => {
    assert.ok(await ensureFerretdbLookupIndexes(postgresqlUrl!) >= 2);
    assert.equal(await ensureFerretdbLookupIndexes(postgresqlUrl!), 0);

    const client = new pg.Client({ connectionString: postgresqlUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ schemaname: string; tablename: string; indexdef: string }>(
        `SELECT schemaname, tablename, indexdef FROM pg_indexes WHERE indexname LIKE 'dgin\\_%' AND tablename LIKE $1`,
        [`${collection.replace(/_/g, '\\_')}\\_%`],
      );
      const fields = rows.map((row) => /_jsonb -> '([^']+)'/.exec(row.indexdef)?.[1]).sort();
      assert.deepEqual(fields, ['_id', 'lookupKey', 'owner']);
      // FerretDB's own filter shape, planned as FerretDB's connection plans it (custom plans): the GIN index serves it.
      const table = `"${rows[0]!.schemaname}"."${rows[0]!.tablename}"`;
      await client.query('SET plan_cache_mode = force_custom_plan');
      await client.query('SET enable_seqscan = off');
      await client.query(`PREPARE lookup(text, jsonb) AS SELECT _jsonb FROM ${table} WHERE _jsonb->$1 @> $2`);
      const plan = (await client.query(`EXPLAIN EXECUTE lookup('lookupKey', '"k-42"')`)).rows.map((row) => row['QUERY PLAN'] as string).join('\n');
      assert.match(plan, /Index Cond: \(\(_jsonb -> 'lookupKey'::text\) @> '"k-42"'::jsonb\)/, plan);
    } finally {
      await client.end();
    }
    const found = await connection.collection(collection).findOne({ lookupKey: 'k-42' });
    assert.equal(found?.owner, 'o-0');
  });
});
