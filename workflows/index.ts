// Everything the worker bundles: one workflow per file, re-exported here.
export { chatWorkflow } from './chat.ts';
export { agentRunWorkflow } from './agent-run.ts';
export { ingestFileWorkflow } from './ingest-file.ts';
export { deleteFileWorkflow } from './delete-file.ts';
export { searchIndexerWorkflow } from './search-indexer.ts';
export { searchReconcileWorkflow } from './search-reconcile.ts';
export { searchReindexWorkflow } from './search-reindex.ts';
