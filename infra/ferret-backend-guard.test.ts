/** The local stack never quietly moves FerretDB's data between PostgreSQL and SQLite (infra/local-services.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { guardBackendSwitch } from './local-services.ts';

const postgresql = { handler: 'postgresql' as const, url: 'postgres://durachat@127.0.0.1:5432/durachat' };
const fallback = { handler: 'sqlite' as const, reason: 'PostgreSQL at postgres://durachat@127.0.0.1:5432/durachat is not usable: connection refused' };
const deliberate = { handler: 'sqlite' as const, reason: 'FERRETDB_HANDLER=sqlite' };

test('a data folder that ran on PostgreSQL refuses the SQLite fallback, but not a deliberate FERRETDB_HANDLER=sqlite', () => {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'durachat-ferret-'));
  guardBackendSwitch(directory, postgresql);
  assert.equal(readFileSync(path.join(directory, 'backend'), 'utf8').trim(), 'postgresql');
  assert.throws(() => guardBackendSwitch(directory, fallback), /FerretDB's data is in PostgreSQL, which cannot be used now \(PostgreSQL at .* connection refused\)\. Start PostgreSQL/);
  guardBackendSwitch(directory, deliberate);
  assert.equal(readFileSync(path.join(directory, 'backend'), 'utf8').trim(), 'sqlite');
});

test('a first start may fall back to SQLite, and a later PostgreSQL start is allowed (the SQLite files stay behind)', () => {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'durachat-ferret-'));
  guardBackendSwitch(directory, fallback);
  writeFileSync(path.join(directory, 'durachat.sqlite'), '');
  guardBackendSwitch(directory, postgresql);
  assert.equal(readFileSync(path.join(directory, 'backend'), 'utf8').trim(), 'postgresql');
});
