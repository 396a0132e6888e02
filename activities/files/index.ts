import type { FileActivityDependencies } from './file-dependencies.ts';
import { createFileDeletion, createSetFileStatus } from './file-record.ts';
import { createIngestFile } from './ingest-file.ts';

/** The files queue's activities: ingestion and deletion (workflows/ingest-file.ts, workflows/delete-file.ts). */
export function createFileActivities(deps: FileActivityDependencies) {
  return {
    ingestFile: createIngestFile(deps),
    setFileStatus: createSetFileStatus(deps),
    ...createFileDeletion(deps),
  };
}
