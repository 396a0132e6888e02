import { type ActivityOptions, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { DeleteFileInput } from '../shared/file-ingestion.ts';

/** Every step is idempotent and retried until it is done: a crash half-way leaves the rest to the retry. */
const cleanup: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 50 },
};

/**
 * Deleting a file (workflow id `delete-file-<file_id>`): its ingestion stopped, its chunks and vectors, its
 * stored object, then its record, in that order, so nothing is left that points at nothing, whatever crashes on the way.
 */
export async function deleteFileWorkflow(input: DeleteFileInput): Promise<void> {
  const steps = proxyActivities<Activities>({ ...cleanup, summary: `delete ${input.filename}` });
  // An ingestion still running would write chunks after the vectors are gone: it is stopped first.
  await steps.stopFileIngestion(input);
  await steps.deleteFileVectors(input);
  await steps.deleteFileObject(input);
  await steps.deleteFileRecord(input);
}
