/**
 * durachat's custom search attributes exist wherever its workflows run in development and tests: on the
 * dev server that test/setup/global-setup.ts starts through infra/local-services.ts (the same code as
 * `npm start`), on a reused server that lacked them, and in the Temporal test environment the workflow tests use.
 */
import assert from 'node:assert/strict';
import { afterAll, describe, test } from 'vitest';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { registerMissingSearchAttributes } from '../infra/register-search-attributes.ts';
import { durachatSearchAttributes } from '../shared/search-attributes.ts';
import { createLocalTestEnvironment } from './helpers/temporal-test-environment.ts';

// temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD; @temporalio/client does not re-export the enum.
const INDEXED_VALUE_TYPE_KEYWORD = 2;
const connections: Connection[] = [];
afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
});

async function customAttributes(connection: Connection, namespace = 'default') {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return customAttributes ?? {};
}

describe('Temporal search attributes', () => {
  test('the test stack\'s dev server has every durachat attribute, as Keyword', async () => {
    const connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS ?? '127.0.0.1:17233' });
    connections.push(connection);
    const registered = await customAttributes(connection);
    for (const { name } of durachatSearchAttributes) assert.equal(registered[name], INDEXED_VALUE_TYPE_KEYWORD, `${name} is registered as Keyword`);
  });

  test('a running server without them gets the missing ones registered (a reused local dev server)', async () => {
    const environment = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_CLI_PATH! } } });
    try {
      const address = environment.connection.options.address;
      assert.deepEqual(await registerMissingSearchAttributes(address), durachatSearchAttributes.map(({ name }) => name));
      const registered = await customAttributes(environment.connection);
      for (const { name } of durachatSearchAttributes) assert.equal(registered[name], INDEXED_VALUE_TYPE_KEYWORD, `${name} is registered as Keyword`);
      assert.deepEqual(await registerMissingSearchAttributes(address), [], 'nothing to add the second time');
    } finally {
      await environment.teardown();
    }
  });

  test('the workflow test environment registers them too', async () => {
    const environment = await createLocalTestEnvironment();
    try {
      const registered = await customAttributes(environment.connection);
      for (const { name } of durachatSearchAttributes) assert.equal(registered[name], INDEXED_VALUE_TYPE_KEYWORD, `${name} is registered as Keyword`);
    } finally {
      await environment.teardown();
    }
  });
});
