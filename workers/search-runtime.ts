import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { SearchActivityDependencies } from '../activities/search/index.ts';
import { preparedOnFirstUse } from '../activities/search/prepared-engine.ts';
import type { SearchEngine } from '../activities/search/search-engine.ts';
import type { Config } from '../shared/config.ts';
import { createSearchIndexerWaker } from '../shared/search-indexer-client.ts';
import { searchReconcileScheduleId } from '../shared/search-indexing.ts';

/** How often the reconciliation runs: a missed change is found within this long. */
export const RECONCILE_EVERY: Duration = '10 minutes';

/**
 * The Temporal Schedule that runs the reconciliation, created if missing. Idempotent: every worker serving
 * the search queue calls it at start; the first creates it, the rest find it. Overlap SKIP: a slow pass is
 * never run twice at once.
 */
export async function ensureReconcileSchedule(client: Client, searchTaskQueue: string, every: Duration = RECONCILE_EVERY): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: searchReconcileScheduleId(searchTaskQueue),
      spec: { intervals: [{ every }] },
      action: { type: 'startWorkflow', workflowType: 'searchReconcileWorkflow', taskQueue: searchTaskQueue, workflowId: `${searchTaskQueue}-reconcile`, args: [{}] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      memo: { purpose: 'compares the search index with the database and queues the differences (issue 12)' },
    });
    return 'created';
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return 'exists';
    throw error;
  }
}

/**
 * What a worker serving the search queue holds: the engine (prepared on first use, so a worker started
 * while the engine is down still serves chat and catches up later), the indexer's wake-up, and at start
 * the reconciliation schedule and a first wake-up of the indexer (which drains whatever waited while no
 * worker ran). Temporal being unreachable at that moment is logged, not fatal: the next worker start or
 * the next write's wake-up does it.
 */
export async function startSearchRuntime(options: { config: Config; client: Client; engine: SearchEngine; log?: (message: string) => void }): Promise<SearchActivityDependencies> {
  const log = options.log ?? ((message: string) => console.log(message));
  const taskQueue = options.config.TASK_QUEUES.search;
  const engine = preparedOnFirstUse(options.engine);
  const wakeIndexer = createSearchIndexerWaker(options.client, taskQueue);
  await engine.prepare().catch((error: Error) => log(`search: the ${options.engine.name} engine is not ready (${error.message}); indexing waits for it`));
  try {
    const schedule = await ensureReconcileSchedule(options.client, taskQueue);
    await wakeIndexer();
    log(`search: indexer woken, reconciliation schedule ${schedule === 'created' ? 'created' : 'found'} (every ${RECONCILE_EVERY})`);
  } catch (error) {
    log(`search: could not set up the indexer or its schedule yet (${(error as Error).message}); the next write or worker start does`);
  }
  return { engine, wakeIndexer };
}
