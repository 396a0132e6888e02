import assert from 'node:assert/strict';
import { test } from 'vitest';
import { ConfigError } from './config.ts';
import { describeSearchConfig, loadSearchConfig } from './search-config.ts';

test('nothing set: search is disabled, with the reason', () => {
  assert.deepEqual(loadSearchConfig({ UNRELATED: 'x' }), { engine: 'disabled', reason: 'neither MEILI_HOST + MEILI_MASTER_KEY nor SEARCH_POSTGRES_URL is set' });
});

test('SEARCH_POSTGRES_URL: PostgreSQL full-text search, schema durachat_search and language simple by default', () => {
  const config = loadSearchConfig({ SEARCH_POSTGRES_URL: 'postgres://durachat:secret@db:5432/durachat' });
  assert.deepEqual(config, { engine: 'postgres', url: 'postgres://durachat:secret@db:5432/durachat', schema: 'durachat_search', language: 'simple' });
  assert.ok(Object.isFrozen(config));
  assert.equal(describeSearchConfig(config), 'PostgreSQL full-text search at postgres://durachat:***@db:5432/durachat, schema durachat_search, language simple');
  assert.deepEqual(loadSearchConfig({ SEARCH_POSTGRES_URL: 'postgresql://db/x', SEARCH_POSTGRES_SCHEMA: 'chat_search', SEARCH_LANGUAGE: 'pg_catalog.english' }), {
    engine: 'postgres',
    url: 'postgresql://db/x',
    schema: 'chat_search',
    language: 'pg_catalog.english',
  });
});

test('MEILI_HOST + MEILI_MASTER_KEY: Meilisearch, preferred over PostgreSQL', () => {
  const config = loadSearchConfig({ MEILI_HOST: 'http://meilisearch:7700', MEILI_MASTER_KEY: 'key', SEARCH_POSTGRES_URL: 'postgres://db/x' });
  assert.deepEqual(config, { engine: 'meilisearch', host: 'http://meilisearch:7700', apiKey: 'key', indexPrefix: '' });
  assert.equal(describeSearchConfig(config), 'Meilisearch at http://meilisearch:7700');
});

test('SEARCH=false turns search off whatever else is set; empty values count as unset', () => {
  assert.deepEqual(loadSearchConfig({ SEARCH: 'false', MEILI_HOST: 'http://m:7700', MEILI_MASTER_KEY: 'k' }), { engine: 'disabled', reason: 'SEARCH=false' });
  assert.equal(loadSearchConfig({ SEARCH: '', SEARCH_POSTGRES_URL: 'postgres://db/x', MEILI_HOST: '' }).engine, 'postgres');
});

test('bad values are refused with the variable named', () => {
  const refused = (environment: NodeJS.ProcessEnv, pattern: RegExp) =>
    assert.throws(() => loadSearchConfig(environment), (error: Error) => error instanceof ConfigError && pattern.test(error.message), JSON.stringify(environment));
  refused({ SEARCH: 'yes' }, /SEARCH:/);
  refused({ MEILI_HOST: 'http://m:7700' }, /MEILI_MASTER_KEY: required with MEILI_HOST/);
  refused({ MEILI_MASTER_KEY: 'k' }, /MEILI_HOST: required with MEILI_MASTER_KEY/);
  refused({ MEILI_HOST: 'ftp://m', MEILI_MASTER_KEY: 'k' }, /MEILI_HOST: must be an http/);
  refused({ SEARCH_POSTGRES_URL: 'mysql://db' }, /SEARCH_POSTGRES_URL: must be a postgres/);
  refused({ SEARCH_POSTGRES_URL: 'postgres://db/x', SEARCH_POSTGRES_SCHEMA: 'search"; drop table x; --' }, /SEARCH_POSTGRES_SCHEMA: must be a plain lower-case SQL identifier/);
  refused({ SEARCH_POSTGRES_URL: 'postgres://db/x', SEARCH_LANGUAGE: "english'::regconfig); drop" }, /SEARCH_LANGUAGE: must be a PostgreSQL text search configuration name/);
  refused({ SEARCH_POSTGRES_URL: 'postgres://db/x', SEARCH_LANGUAGE: 'English' }, /SEARCH_LANGUAGE/);
  refused({ MEILI_HOST: 'http://m:7700', MEILI_MASTER_KEY: 'k', MEILI_INDEX_PREFIX: 'a b' }, /MEILI_INDEX_PREFIX/);
});
