import { type ActivityOptions, condition, continueAsNew, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SearchActivities } from '../activities/search/index.ts';
import { SEARCH_WAKE_SIGNAL, type SearchIndexerInput } from '../shared/search-indexing.ts';

/**
 * Engine writes are retried for as long as the engine is down (no attempt limit): the outbox holds the
 * changes meanwhile, and each attempt shows in the Temporal UI with its error. The heartbeat notices a
 * worker killed mid-batch within seconds; the batch is then applied again (idempotent upserts).
 */
export const indexWrite: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // A batch heartbeats before and after its engine calls, each bounded by the engine's own statement
  // timeout (10 s for PostgreSQL): 20 s without one means the worker is gone.
  heartbeatTimeout: '20 seconds',
  // No maximumAttempts: unlimited (the SDK's default), the outbox waits as long as the engine is down.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

export const searchWake = defineSignal(SEARCH_WAKE_SIGNAL);

/** Loops per run before continue-as-new, so the history (a few events per loop and per signal) stays small. */
const LOOPS_PER_RUN = 200;

/**
 * The one indexer of a deployment (workflow id `<search queue>-indexer`, shared/search-indexing.ts), on the
 * search task queue: drains the outbox in batches while there is something, then sleeps until a wake-up
 * signal (the API and workers signal-with-start it after recording changes) or `idlePollSeconds` pass.
 * Being one workflow, it never applies two batches at once; signals while it drains only mean "look again".
 */
export async function searchIndexerWorkflow(input: SearchIndexerInput = {}): Promise<void> {
  const batchSize = input.batchSize ?? 100;
  const maxBatches = input.maxBatches ?? 20;
  const idleMs = (input.idlePollSeconds ?? 60) * 1000;
  const { drainSearchOutbox } = proxyActivities<SearchActivities>({ ...indexWrite, summary: 'apply search outbox changes to the index' });
  let woken = true;
  setHandler(searchWake, () => {
    woken = true;
  });
  const loops = input.loopsPerRun ?? LOOPS_PER_RUN;
  for (let loop = 0; loop < loops && !workflowInfo().continueAsNewSuggested; loop += 1) {
    woken = false;
    const result = await drainSearchOutbox({ batchSize, maxBatches });
    if (!result.more) await condition(() => woken, idleMs);
  }
  // Signals that arrive from here on are kept by the server for the next run, which drains first anyway.
  await continueAsNew<typeof searchIndexerWorkflow>(input);
}
