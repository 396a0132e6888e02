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
  // FerretDB keeps a database in the PostgreSQL schema of the same name.
  const ownSchema = new URL(config.MONGO_URI).pathname.slice(1);
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
    // Other test files share this PostgreSQL database: the pass keeps to this file's schema, so it neither
    // counts their tables nor builds indexes under their drops.
    const fields = (keys: string[]) => keys.filter((key) => key.split('.')[1]!.startsWith(`${collection}_`)).map((key) => key.split('.')[2]).sort();
    assert.deepEqual(fields(await ensureFerretdbLookupIndexes(postgresqlUrl!, { schemas: [ownSchema] })), ['_id', 'lookupKey', 'owner']);
    assert.deepEqual(await ensureFerretdbLookupIndexes(postgresqlUrl!, { schemas: [ownSchema] }), [], 'a second pass adds none');

    const client = new pg.Client({ connectionString: postgresqlUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ schemaname: string; tablename: string; indexdef: string }>(
        `SELECT schemaname, tablename, indexdef FROM pg_indexes WHERE indexname LIKE 'dgin\\_%' AND tablename LIKE $1`,
        [`${collection.replace(/_/g, '\\_')}\\_%`],
      );
      assert.deepEqual(rows.map((row) => /_jsonb -> '([^']+)'/.exec(row.indexdef)?.[1]).sort(), ['_id', 'lookupKey', 'owner']);
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

  // SHARE UPDATE EXCLUSIVE lets the pass read the index's definition and holds its build; ACCESS EXCLUSIVE holds
  // the reading of the definition itself. Either way the table is then dropped under the waiting pass.
  test.each([
    ['its index is being built', 'SHARE UPDATE EXCLUSIVE'],
    ['its index definition is being read', 'ACCESS EXCLUSIVE'],
  ])('a collection dropped while %s is skipped, and the pass goes on', async (_when, lockMode) => {
    // FerretDB-shaped tables in schemas of their own, made directly in PostgreSQL so the test decides when one goes.
    const schema = `durachat_drop_probe_${Date.now().toString(36)}`;
    const kept = `${schema}_kept`;
    const admin = new pg.Client({ connectionString: postgresqlUrl });
    const locker = new pg.Client({ connectionString: postgresqlUrl });
    await admin.connect();
    await locker.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.query(`CREATE TABLE ${schema}.gone_1 (_jsonb jsonb)`);
      await admin.query(`CREATE INDEX gone_key ON ${schema}.gone_1 ((_jsonb -> 'gone'))`);
      await admin.query(`CREATE SCHEMA ${kept}`);
      await admin.query(`CREATE TABLE ${kept}.kept_1 (_jsonb jsonb)`);
      await admin.query(`CREATE INDEX kept_key ON ${kept}.kept_1 ((_jsonb -> 'kept'))`);
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${schema}.gone_1 IN ${lockMode} MODE`);
      const pass = ensureFerretdbLookupIndexes(postgresqlUrl!, { schemas: [schema, kept] });
      const waiting = async () =>
        (await admin.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND relation IN ('${schema}.gone_1'::regclass, '${schema}.gone_key'::regclass)`)).rowCount! > 0;
      for (let tries = 0; !(await waiting()); tries += 1) {
        assert.ok(tries < 160, 'the pass never waited on the locked table');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await locker.query(`DROP SCHEMA ${schema} CASCADE`);
      await locker.query('COMMIT');
      assert.deepEqual(await pass, [`${kept}.kept_1.kept`], 'the dropped table skipped without an error, the other one indexed');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      for (const name of [schema, kept]) await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`).catch(() => undefined);
      await Promise.all([admin.end(), locker.end()]);
    }
  });
});
