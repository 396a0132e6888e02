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

/**
 * What the workflow tests' workers run: the bundle `npm start` builds when WORKFLOW_BUNDLE_PATH names one,
 * else workflows/index.ts, bundled by the worker.
 */
export const workflowSource = process.env.WORKFLOW_BUNDLE_PATH
  ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } }
  : { workflowsPath: new URL('../../workflows/index.ts', import.meta.url).pathname };
