/**
 * Names shared by the API, the workers and the indexing workflows (issue 12). Ids are derived from the
 * search task queue, so deployments (and test runs) sharing one Temporal namespace never share an indexer;
 * with the default queue the indexer is `durachat-chat-search-indexer`. Imported by workflow code: no I/O
 * and no client here (shared/search-indexer-client.ts has the calls).
 */
export const searchIndexerWorkflowId = (searchTaskQueue: string) => `${searchTaskQueue}-indexer`;
export const searchReconcileScheduleId = (searchTaskQueue: string) => `${searchTaskQueue}-reconcile`;
export const searchReindexWorkflowId = (searchTaskQueue: string) => `${searchTaskQueue}-reindex`;
/** The indexer's wake-up signal: "the outbox has something". It carries nothing. */
export const SEARCH_WAKE_SIGNAL = 'searchWake';
export const SEARCH_REINDEX_PROGRESS_QUERY = 'searchReindexProgress';

export interface SearchIndexerInput {
  batchSize?: number;
  maxBatches?: number;
  /** Without a signal the indexer still looks at the outbox this often (a lost wake-up costs this much lag). */
  idlePollSeconds?: number;
  /** Drain-and-wait loops per run before continue-as-new (default 200: a history of about 1,500 events). */
  loopsPerRun?: number;
}

export interface SearchReindexProgress {
  phase: 'conversations' | 'messages' | 'reconciling' | 'draining' | 'done';
  conversations: number;
  messages: number;
  /** Index documents that differed from the database in the reconciliation pass. */
  corrected: number;
  /** Changes still waiting in the outbox at the last look. */
  backlog?: number;
}
