// Everything the worker bundles: one workflow per file, re-exported here.
export { chatWorkflow } from './chat.ts';
