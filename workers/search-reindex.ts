/**
 * `npm run search:reindex`: starts the full search reindex (workflows/search-reindex.ts) on the search task
 * queue, or finds the one running, and prints its progress until it ends (`--no-wait`: start and return).
 * A worker serving the search queue does the work; this process only asks Temporal.
 */
import { loadConfigOrExit } from '../shared/config.ts';
import { searchReindexProgressOf, startSearchReindex } from '../shared/search-indexer-client.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';

const config = loadConfigOrExit();
const temporal = createTemporalClient(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
try {
  const { workflowId, runId, started } = await startSearchReindex(temporal.client, config.TASK_QUEUES.search);
  console.log(`${started ? 'started' : 'already running:'} ${workflowId} (run ${runId}) on ${config.TASK_QUEUES.search}; progress is in the Temporal UI (memo "progress")`);
  if (!process.argv.includes('--no-wait')) {
    let last = '';
    for (;;) {
      const state = await searchReindexProgressOf(temporal.client, config.TASK_QUEUES.search);
      const line = JSON.stringify(state);
      if (line !== last) console.log(line);
      last = line;
      if (state && state.status !== 'RUNNING') {
        process.exitCode = state.status === 'COMPLETED' ? 0 : 1;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
} catch (error) {
  console.error(`search reindex: ${(error as Error).message} (is Temporal at ${config.TEMPORAL_ADDRESS} up?)`);
  process.exitCode = 1;
} finally {
  await temporal.connection.close();
}
