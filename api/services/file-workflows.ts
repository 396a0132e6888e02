import type { Client } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import { deleteFileWorkflowId, ingestWorkflowId, type DeleteFileInput, type IngestFileInput } from '../../shared/file-ingestion.ts';
import { File } from '../../shared/models/file.ts';
import type { FileProgressService } from './file-progress-service.ts';

/** How long DELETE /api/files waits for the deletion workflows before answering (they finish anyway). */
const DELETE_WAIT_MS = 10_000;

/**
 * The API's side of the file workflows: every readable upload starts its ingestion (workflows/ingest-file.ts)
 * and a delete is a workflow (workflows/delete-file.ts), both on the files task queue.
 */
export function createFileWorkflows(deps: { temporal: Client; taskQueue: string; log: FastifyBaseLogger; progress?: Pick<FileProgressService, 'fail'> }) {
  const { temporal, taskQueue, log } = deps;
  return {
    /**
     * Queues the file's ingestion. If Temporal cannot take it the upload still stands, and the file says why
     * it will not become searchable (status `error`), instead of staying `pending` for ever.
     */
    async startIngestion(input: IngestFileInput): Promise<void> {
      try {
        await temporal.workflow.start('ingestFileWorkflow', {
          workflowId: ingestWorkflowId(input.fileId),
          taskQueue,
          args: [input],
          staticSummary: `ingest ${input.filename} (${input.mimeType})`,
        });
      } catch (error) {
        log.error({ err: error, fileId: input.fileId }, 'could not start the file ingestion');
        const message = 'The file could not be queued for processing right now; delete it and upload it again.';
        await File.updateOne({ file_id: input.fileId, user: input.userId }, { $set: { status: 'error', error: message } }).catch(() => undefined);
        // Its progress followers end too (a follower that connects later is answered from the record).
        await deps.progress?.fail(input.fileId, message).catch((progressError) => log.warn({ err: progressError, fileId: input.fileId }, 'could not end the file progress stream'));
      }
    },

    /** Starts each file's deletion and waits for them a few seconds, so the client's next list no longer has them. */
    async deleteFiles(inputs: DeleteFileInput[]): Promise<void> {
      const handles = await Promise.all(
        inputs.map((input) =>
          temporal.workflow.start('deleteFileWorkflow', {
            workflowId: deleteFileWorkflowId(input.fileId),
            taskQueue,
            args: [input],
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: `delete ${input.filename}`,
          }),
        ),
      );
      const deadline = new Promise((resolve) => setTimeout(resolve, DELETE_WAIT_MS).unref());
      await Promise.race([Promise.allSettled(handles.map((handle) => handle.result())), deadline]);
    },
  };
}
export type FileWorkflows = ReturnType<typeof createFileWorkflows>;
