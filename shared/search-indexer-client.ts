import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  SEARCH_REINDEX_PROGRESS_QUERY,
  SEARCH_WAKE_SIGNAL,
  searchIndexerWorkflowId,
  searchReindexWorkflowId,
  type SearchReindexProgress,
} from './search-indexing.ts';

const WAKE_DEADLINE_MS = 5000;

/**
 * Wakes the indexer (starting it if it is not running): one signal-with-start, cheap and idempotent.
 * The API and the workers call it after recording changes (shared/search-changes.ts), never awaiting it on
 * a reply's path.
 */
export function createSearchIndexerWaker(client: Client, searchTaskQueue: string): () => Promise<void> {
  // Bounded: a wake-up is best effort (the indexer also polls, and reconciliation catches up), so it never
  // retries for long against an unreachable Temporal, and closing can wait for it.
  return async () => {
    await client.connection.withDeadline(Date.now() + WAKE_DEADLINE_MS, () =>
      client.workflow.signalWithStart('searchIndexerWorkflow', {
        workflowId: searchIndexerWorkflowId(searchTaskQueue),
        taskQueue: searchTaskQueue,
        signal: SEARCH_WAKE_SIGNAL,
        signalArgs: [],
        args: [{}],
      }));
  };
}

/**
 * Starts the full reindex, or finds the one already running (one at a time: a second request gets the
 * running one's ids and `started: false`).
 */
export async function startSearchReindex(client: Client, searchTaskQueue: string): Promise<{ workflowId: string; runId: string; started: boolean }> {
  const workflowId = searchReindexWorkflowId(searchTaskQueue);
  try {
    const handle = await client.workflow.start('searchReindexWorkflow', { workflowId, taskQueue: searchTaskQueue, args: [{}] });
    return { workflowId, runId: handle.firstExecutionRunId, started: true };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    const running = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: running.runId, started: false };
  }
}

/** The last (or running) reindex: its status and progress (the workflow's `searchReindexProgress` query, else its result). */
export async function searchReindexProgressOf(client: Client, searchTaskQueue: string): Promise<{ status: string; progress?: SearchReindexProgress } | undefined> {
  const handle = client.workflow.getHandle(searchReindexWorkflowId(searchTaskQueue));
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') return undefined;
    throw error;
  }
  if (status === 'RUNNING') return { status, progress: await handle.query<SearchReindexProgress>(SEARCH_REINDEX_PROGRESS_QUERY) };
  if (status === 'COMPLETED') return { status, progress: await handle.result() };
  return { status };
}
