/**
 * Bundles the workflow code once, ahead of the worker (`npm run build:workflows [-- <file>]`, default
 * `$DATA_DIR/workflow-bundle.js`). A worker given the file (`WORKFLOW_BUNDLE_PATH`) starts seconds faster
 * and never runs webpack itself: bundling at start-up added ~80 MiB to the worker's peak RSS
 * (bench/README.md). `npm start` runs this before starting the worker; production images should too.
 * The file is written next to its final name and renamed into place, so a worker never reads half of it.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { workflowBundleOptions } from './workflow-bundle-options.ts';

const root = path.resolve(import.meta.dirname, '..');
const target = path.resolve(process.argv[2] ?? path.join(process.env.DATA_DIR ?? path.join(root, '.data'), 'workflow-bundle.js'));
const started = Date.now();
const bundle = await bundleWorkflowCode({ ...workflowBundleOptions, logger: undefined });
mkdirSync(path.dirname(target), { recursive: true });
const partial = `${target}.${process.pid}.tmp`;
writeFileSync(partial, bundle.code);
renameSync(partial, target);
console.log(`workflow bundle written to ${target} (${Math.round(bundle.code.length / 1024)} KiB, ${Date.now() - started} ms)`);
