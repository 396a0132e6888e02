import { proxyActivities } from '@temporalio/workflow';
import type { SearchActivities } from '../activities/search/index.ts';
import { indexWrite } from './search-indexer.ts';

export interface SearchReconcileResult {
  conversations: { checked: number; enqueued: number };
  messages: { checked: number; enqueued: number };
}

/**
 * Run by the Temporal Schedule `<search queue>-reconcile` (every 10 minutes, workers/search-runtime.ts):
 * compares the index with the database in id order, page by page, and records every difference (missing,
 * stale, deleted but still indexed) as an outbox change for the indexer. It catches what change capture
 * missed (a process killed between its write and its outbox entry). Progress is the activity's heartbeat.
 */
export async function searchReconcileWorkflow(input: { pageSize?: number } = {}): Promise<SearchReconcileResult> {
  const pageSize = input.pageSize ?? 500;
  const { reconcileSearchIndex } = proxyActivities<SearchActivities>({ ...indexWrite, startToCloseTimeout: '1 hour', summary: 'compare the search index with the database' });
  const conversations = await reconcileSearchIndex({ kind: 'conversations', pageSize });
  const messages = await reconcileSearchIndex({ kind: 'messages', pageSize });
  return { conversations: { checked: conversations.checked, enqueued: conversations.enqueued }, messages: { checked: messages.checked, enqueued: messages.enqueued } };
}
