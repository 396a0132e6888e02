import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, test } from 'vitest';
import { defaultPostgresqlUrl, findFreePort } from '../../infra/local-services.ts';
import { ConfigError } from '../../shared/config.ts';
import { createMeilisearchSearchEngine } from './engines/meilisearch-search-engine.ts';
import { createPostgresSearchEngine } from './engines/postgres-search-engine.ts';
import { MAX_INDEXED_TEXT_CHARACTERS } from './engines/search-text.ts';
import { searchEngineSuite } from './search-engine.suite.ts';

/**
 * The engine suite on PostgreSQL full-text search (always: the server test/setup/global-setup.ts points
 * SEARCH_POSTGRES_URL at, in a schema of this file's own, dropped at the end) and on Meilisearch (only with
 * MEILI_HOST and MEILI_MASTER_KEY: no Meilisearch binary can be installed on these machines).
 */
const postgresUrl = process.env.SEARCH_POSTGRES_URL || defaultPostgresqlUrl;
const schemaPrefix = process.env.SEARCH_POSTGRES_SCHEMA || 'durachat_search_test';
const schemas: string[] = [];
const quiet = () => undefined;

function newSchema(): string {
  const schema = `${schemaPrefix}_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

afterAll(async () => {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
});

async function refusedPostgresUrl(): Promise<string> {
  const url = new URL(postgresUrl);
  url.hostname = '127.0.0.1';
  url.port = String(await findFreePort());
  return url.toString();
}

searchEngineSuite('PostgreSQL full-text search', async () => {
  const schema = newSchema();
  const engine = createPostgresSearchEngine({ url: postgresUrl, schema, language: 'simple', warn: quiet });
  const unreachable = createPostgresSearchEngine({ url: await refusedPostgresUrl(), schema, language: 'simple', warn: quiet });
  return {
    engine,
    unreachable,
    async stop() {
      await engine.close();
      await unreachable.close();
    },
  };
});

const meiliHost = process.env.MEILI_HOST;
const meiliKey = process.env.MEILI_MASTER_KEY;
const meiliSkipReason = 'SKIPPED: MEILI_HOST and MEILI_MASTER_KEY are not set (no Meilisearch binary can be installed on these machines; set both to run this half against a real Meilisearch)';
if (!meiliHost || !meiliKey) {
  console.log(`[search] Meilisearch engine suite ${meiliSkipReason}`);
  describe.skip(`Meilisearch engine — ${meiliSkipReason}`, () => {
    test('the shared engine suite', () => undefined);
  });
} else {
  searchEngineSuite('Meilisearch', async () => {
    const indexPrefix = `durachat_test_${randomBytes(4).toString('hex')}_`;
    const engine = createMeilisearchSearchEngine({ host: meiliHost, apiKey: meiliKey, indexPrefix, warn: quiet });
    const unreachable = createMeilisearchSearchEngine({ host: `http://127.0.0.1:${await findFreePort()}`, apiKey: meiliKey, indexPrefix, warn: quiet });
    return {
      engine,
      unreachable,
      async stop() {
        const { Meilisearch } = await import('meilisearch');
        const client = new Meilisearch({ host: meiliHost, apiKey: meiliKey });
        for (const name of ['convos', 'messages']) await client.deleteIndexIfExists(`${indexPrefix}${name}`);
      },
    };
  });
}

describe('PostgreSQL engine specifics', () => {
  test('SEARCH_LANGUAGE must name a configuration the server has; prepare() says which exist', async () => {
    const engine = createPostgresSearchEngine({ url: postgresUrl, schema: newSchema(), language: 'klingon', warn: quiet });
    try {
      await assert.rejects(engine.prepare(), (error: Error) => error instanceof ConfigError && /SEARCH_LANGUAGE: klingon is not a text search configuration/.test(error.message) && /english/.test(error.message));
    } finally {
      await engine.close();
    }
  });

  test('an API and a worker preparing a new schema at the same moment both succeed', async () => {
    const schema = newSchema();
    const engines = Array.from({ length: 3 }, () => createPostgresSearchEngine({ url: postgresUrl, schema, language: 'simple', warn: quiet }));
    try {
      await Promise.all(engines.map((engine) => engine.prepare()));
      await engines[0]!.upsertConversations([{ conversationId: 'c-race', user: 'race-user', title: 'Raced schema', updatedAt: new Date().toISOString() }]);
      assert.deepEqual((await engines[2]!.searchConversations({ user: 'race-user', text: 'raced', limit: 5 })).hits.map((hit) => hit.conversationId), ['c-race']);
    } finally {
      await Promise.all(engines.map((engine) => engine.close()));
    }
  });

  test('changing the language rebuilds the vectors: english then stems, and documents stay', async () => {
    const schema = newSchema();
    const simple = createPostgresSearchEngine({ url: postgresUrl, schema, language: 'simple', warn: quiet });
    const user = 'language-user';
    try {
      await simple.prepare();
      await simple.upsertConversations([{ conversationId: 'c-language', user, title: 'Running shoes', updatedAt: new Date().toISOString() }]);
      assert.deepEqual((await simple.searchConversations({ user, text: 'runs shoes', limit: 5 })).hits, [], 'simple does not stem');
    } finally {
      await simple.close();
    }
    const warnings: string[] = [];
    const english = createPostgresSearchEngine({ url: postgresUrl, schema, language: 'english', warn: (message) => warnings.push(message) });
    try {
      await english.prepare();
      assert.ok(warnings.some((line) => /rebuilt: SEARCH_LANGUAGE changed from simple to english/.test(line)), warnings.join('\n'));
      assert.deepEqual((await english.searchConversations({ user, text: 'runs shoes', limit: 5 })).hits.map((hit) => hit.conversationId), ['c-language']);
    } finally {
      await english.close();
    }
  });

  test('a very long message is indexed up to the cap (no tsvector overflow); NULs and lone surrogates do not fail the batch', async () => {
    const engine = createPostgresSearchEngine({ url: postgresUrl, schema: newSchema(), language: 'simple', warn: quiet });
    const user = 'long-user';
    try {
      await engine.prepare();
      // Distinct words from the first character to well past the cap: 3 MB of text, so uncapped it would overflow.
      const words = Array.from({ length: 400_000 }, (_, index) => `w${index.toString(36)}`);
      const text = `openingword\u0000 \uD800 lone\uDC00surrogate ${words.join(' ')} closingword`;
      assert.ok(text.length > 2 * MAX_INDEXED_TEXT_CHARACTERS);
      await engine.upsertConversations([{ conversationId: 'c-long', user, title: 'Long\u0000 one', updatedAt: new Date().toISOString() }]);
      await engine.upsertMessages([{ messageId: 'm-long', conversationId: 'c-long', user, sender: 'User', text, isCreatedByUser: true, updatedAt: new Date().toISOString() }]);
      assert.deepEqual((await engine.searchMessages({ user, text: 'openingword', limit: 5 })).hits.map((hit) => hit.messageId), ['m-long']);
      assert.deepEqual((await engine.searchMessages({ user, text: 'closingword', limit: 5 })).hits, [], 'words after the cap are not indexed');
      assert.deepEqual((await engine.searchConversations({ user, text: 'long', limit: 5 })).hits.map((hit) => hit.conversationId), ['c-long']);
    } finally {
      await engine.close();
    }
  });
});
