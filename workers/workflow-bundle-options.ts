import type { BundleOptions } from '@temporalio/worker';
import path from 'node:path';
import { sourceRoot } from '../shared/build-paths.ts';

/**
 * How every workflow bundle is built (ahead by workers/build-workflow-bundle.ts, at a worker's start without
 * WORKFLOW_BUNDLE_PATH, once per test run). The SDK's default inline source map carries the full text of
 * every bundled module (1.2 of the bundle's 1.8 MB), and each Worker (one per workflow task queue) parses the
 * bundle, keeps the map and hands it to its workflow thread: ~29 MiB of the worker's idle RSS went with the
 * text (bench/README.md, "Running the build"). The mappings stay, so workflow stack traces still point to
 * file, line and column in the TypeScript sources; the text is read only by the enhanced stack trace query
 * when the worker option `showStackTraceSources` is on, which durachat leaves off (the SDK's default).
 */
export const workflowBundleOptions: BundleOptions = {
  workflowsPath: path.join(sourceRoot, 'workflows', 'index.ts'),
  webpackConfigHook: (config) => ({ ...config, devtool: 'inline-nosources-source-map' }),
};
