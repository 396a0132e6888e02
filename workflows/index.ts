// Everything the worker bundles: one workflow per file, re-exported here.
export { chatWorkflow } from './chat.ts';
export { agentRunWorkflow } from './agent-run.ts';
