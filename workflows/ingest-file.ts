import { type ActivityOptions, ActivityCancellationType, ApplicationFailure, CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { IngestFileInput } from '../shared/file-ingestion.ts';
import { activityCause, dbWrite, failureMessage } from './activity-options.ts';

/**
 * Extract, chunk, embed and index one file. Long (a 100-page PDF, a 10 MB CSV): it heartbeats its progress,
 * and a retry skips the batches an earlier attempt already wrote. Transient failures (embeddings 429/5xx,
 * storage or index unreachable, a worker gone) are retried with backoff, each attempt visible in the UI; a
 * file that cannot be read (corrupt, encrypted, unsupported) fails once, without retries.
 */
const ingest: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  // All attempts together: past this the workflow's own catch settles the file as an error (a workflow
  // execution timeout would end it without that, leaving the file `extracting` for ever).
  scheduleToCloseTimeout: '3 hours',
  heartbeatTimeout: '30 seconds',
  // Cancelled (the file deleted): the workflow ends only once the activity has stopped, so the deletion's
  // next step (its vectors) never runs beside an index write still in flight, which would land afterwards.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: ['BrokenFile', 'UnsupportedFile', 'FileGone', 'FileSearchUnavailable'] },
};

const gaveUp = 'The file could not be processed: a service it needs kept failing. Try uploading it again later.';

/**
 * What the user reads as the file's error. Failures durachat declares final (a broken or unsupported file, a
 * refused index write, file search not set up) carry messages written for users; anything else that outlasted
 * the retries (storage, database, Redis or provider trouble) would show raw internals, so it reads as
 * `gaveUp` and its own text goes to the log only.
 */
export function ingestionFailureReason(error: unknown): string {
  const cause = activityCause(error);
  return cause instanceof ApplicationFailure && cause.nonRetryable ? cause.message : gaveUp;
}

/**
 * One uploaded file's ingestion (workflow id `ingest-<file_id>`, on the files task queue, so it never delays
 * a reply): pending → extracting → embedding → ready, or error with a message a user understands. The file's
 * status is always settled: a failure past the retries is written as the file's error.
 */
export async function ingestFileWorkflow(input: IngestFileInput): Promise<{ status: 'ready' | 'error'; chunks?: number; error?: string }> {
  const status = proxyActivities<Activities>({ ...dbWrite, summary: 'record the file status' });
  const work = proxyActivities<Activities>({ ...ingest, summary: `extract, chunk, embed and index ${input.filename}` });
  try {
    const result = await work.ingestFile(input);
    await status.setFileStatus(input.fileId, input.userId, { status: 'ready', chunks: result.chunks });
    return { status: 'ready', chunks: result.chunks };
  } catch (error) {
    const message = isCancellation(error) ? 'Processing was stopped.' : ingestionFailureReason(error);
    log.warn('file ingestion failed', { fileId: input.fileId, error: message, cause: failureMessage(error, String(error)) });
    // Written even when the ingestion was cancelled (by an operator, or by the file's deletion: then there is no record left to change).
    await CancellationScope.nonCancellable(() => status.setFileStatus(input.fileId, input.userId, { status: 'error', error: message }));
    if (isCancellation(error)) throw error;
    return { status: 'error', error: message };
  }
}
