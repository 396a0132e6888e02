import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ingestWorkflowId, type DeleteFileInput } from '../../shared/file-ingestion.ts';
import type { FileStrategy } from '../../shared/file-config.ts';
import { File } from '../../shared/models/file.ts';
import type { FileActivityDependencies } from './file-dependencies.ts';

/**
 * The end of an ingestion: ready (embedded, with its chunk count) or error with the reason. A deleted file stays
 * deleted. The record first, then the progress stream's end event (so a follower that sees the end finds the
 * record settled); a retry writes the same record again and the stream refuses a second end event.
 */
export function createSetFileStatus(deps: Pick<FileActivityDependencies, 'progress'> = {}) {
  return async function setFileStatus(fileId: string, userId: string, outcome: { status: 'ready'; chunks: number } | { status: 'error'; error: string }): Promise<void> {
    if (outcome.status === 'ready') {
      await File.updateOne({ file_id: fileId, user: userId }, { $set: { status: 'ready', embedded: true, chunks: outcome.chunks }, $unset: { error: '' } });
      await deps.progress?.finish(fileId, { type: 'final', status: 'ready', chunks: outcome.chunks });
      return;
    }
    // Ready is final: when the ready record was written but its end event could not be (Redis down past the
    // retries), the workflow's catch asks for an error; the file is ready, so the stream ends as ready instead.
    const error = outcome.error.slice(0, 1000);
    const result = await File.updateOne({ file_id: fileId, user: userId, status: { $ne: 'ready' } }, { $set: { status: 'error', embedded: false, error } });
    if (result.matchedCount === 0) {
      const ready = await File.findOne({ file_id: fileId, user: userId, status: 'ready' }, { chunks: 1 }).lean<{ chunks?: number }>();
      if (ready) {
        await deps.progress?.finish(fileId, { type: 'final', status: 'ready', chunks: ready.chunks ?? 0 });
        return;
      }
    }
    await deps.progress?.finish(fileId, { type: 'error', status: 'error', error });
  };
}

/** Deleting a file, step by step (workflows/delete-file.ts); each step is idempotent. */
export function createFileDeletion(deps: Pick<FileActivityDependencies, 'storages' | 'index'>) {
  return {
    /** Cancels the file's ingestion workflow, if it is running, and waits until it has ended. */
    async stopFileIngestion(input: DeleteFileInput): Promise<void> {
      const handle = Context.current().client.workflow.getHandle(ingestWorkflowId(input.fileId));
      try {
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') return;
        await handle.cancel();
        await handle.result().catch(() => undefined);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return;
        throw error;
      }
    },
    async deleteFileVectors(input: DeleteFileInput): Promise<void> {
      await deps.index.deleteFile(input.fileId);
    },
    async deleteFileObject(input: DeleteFileInput): Promise<void> {
      await deps.storages(input.storage.strategy as FileStrategy).delete(input.storage.key);
    },
    async deleteFileRecord(input: DeleteFileInput): Promise<void> {
      await File.deleteOne({ file_id: input.fileId, user: input.userId });
      if ((await File.countDocuments({ file_id: input.fileId })) > 0) throw ApplicationFailure.retryable('The file record is still there');
    },
  };
}
