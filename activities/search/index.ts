import { SearchOutbox } from '../../shared/models/search-outbox.ts';
import { createDrainSearchOutbox } from './drain-outbox.ts';
import { createReconcileSearchIndex } from './reconcile-index.ts';
import { createReindexSearchDocuments } from './reindex-documents.ts';
import type { SearchEngine } from './search-engine.ts';

export interface SearchActivityDependencies {
  engine: SearchEngine;
  /** Signal-with-start of the indexer workflow (shared/search-indexer-client.ts), after reconciliation queued fixes. */
  wakeIndexer: () => Promise<void>;
}

/** The indexing activities (issue 12), registered only by workers serving the search queue. */
export function createSearchActivities(deps: SearchActivityDependencies) {
  return {
    drainSearchOutbox: createDrainSearchOutbox(deps),
    reconcileSearchIndex: createReconcileSearchIndex(deps),
    reindexSearchDocuments: createReindexSearchDocuments(deps),
    /** Changes waiting, for a reindex's progress. */
    async searchOutboxBacklog(): Promise<number> {
      return SearchOutbox.countDocuments({});
    },
  };
}
export type SearchActivities = ReturnType<typeof createSearchActivities>;
