import { defineQuery, proxyActivities, setHandler, sleep, upsertMemo } from '@temporalio/workflow';
import type { SearchActivities } from '../activities/search/index.ts';
import { SEARCH_REINDEX_PROGRESS_QUERY, type SearchReindexProgress } from '../shared/search-indexing.ts';
import { indexWrite } from './search-indexer.ts';

export const searchReindexProgress = defineQuery<SearchReindexProgress>(SEARCH_REINDEX_PROGRESS_QUERY);

/**
 * A full reindex (workflow id `<search queue>-reindex`; `npm run search:reindex` or
 * `POST /api/admin/search/reindex`): every conversation and message upserted from the database, then a
 * reconciliation pass that removes what the database no longer holds and re-queues what changed during
 * the pass, then it waits until the indexer has drained those. Progress is in the memo (`progress`, shown
 * in the Temporal UI), the running activity's heartbeat details and the `searchReindexProgress` query.
 */
export async function searchReindexWorkflow(input: { pageSize?: number } = {}): Promise<SearchReindexProgress> {
  const pageSize = input.pageSize ?? 500;
  const work = proxyActivities<SearchActivities>({ ...indexWrite, startToCloseTimeout: '2 hours', summary: 'reindex search documents' });
  const look = proxyActivities<SearchActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumInterval: '10 seconds' } });
  const progress: SearchReindexProgress = { phase: 'conversations', conversations: 0, messages: 0, corrected: 0 };
  setHandler(searchReindexProgress, () => progress);
  const report = (changes: Partial<SearchReindexProgress>) => {
    Object.assign(progress, changes);
    upsertMemo({ progress: { ...progress } });
  };
  report({});
  report({ phase: 'messages', conversations: (await work.reindexSearchDocuments({ kind: 'conversations', pageSize })).indexed });
  report({ phase: 'reconciling', messages: (await work.reindexSearchDocuments({ kind: 'messages', pageSize })).indexed });
  const conversations = await work.reconcileSearchIndex({ kind: 'conversations', pageSize });
  const messages = await work.reconcileSearchIndex({ kind: 'messages', pageSize });
  report({ phase: 'draining', corrected: conversations.enqueued + messages.enqueued, backlog: await look.searchOutboxBacklog() });
  // The indexer applies what the reconciliation queued (and whatever users write meanwhile); done once the
  // outbox has been empty at a look. Bounded: past an hour the reindex ends and says how much was left.
  for (let looks = 0; progress.backlog! > 0 && looks < 720; looks += 1) {
    await sleep('5 seconds');
    report({ backlog: await look.searchOutboxBacklog() });
  }
  report({ phase: 'done' });
  return { ...progress };
}
