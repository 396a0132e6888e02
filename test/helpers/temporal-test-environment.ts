import assert from 'node:assert/strict';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { durachatSearchAttributeKeys } from '../../shared/search-attributes.ts';

/**
 * Temporal's local test environment on the installed CLI (`existing-path`: offline, nothing downloaded),
 * with durachat's search attributes registered as on the stack's own dev server.
 */
export async function createLocalTestEnvironment(): Promise<TestWorkflowEnvironment> {
  const executable = process.env.TEMPORAL_CLI_PATH;
  assert.ok(executable, 'TEMPORAL_CLI_PATH is set by test/setup/global-setup.ts');
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: executable }, searchAttributes: [...durachatSearchAttributeKeys] },
  });
}
