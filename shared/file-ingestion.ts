/** What the API hands the file workflows (workflows/ingest-file.ts, workflows/delete-file.ts). */
export interface IngestFileInput {
  fileId: string;
  userId: string;
  filename: string;
  /** The type found from the content (the upload route sniffs it), not the name's. */
  mimeType: string;
  /** Where the object is, in the storage it was written to. */
  storage: { strategy: string; key: string };
}

export type DeleteFileInput = IngestFileInput;

export type FileStatus = 'pending' | 'extracting' | 'embedding' | 'ready' | 'error';

export const ingestWorkflowId = (fileId: string) => `ingest-${fileId}`;
export const deleteFileWorkflowId = (fileId: string) => `delete-file-${fileId}`;

/** Whether a file of this (sniffed) type holds text to ingest and search: images, audio and video do not. */
export function holdsText(type: string): boolean {
  return !/^(image|audio|video)\//.test(type);
}
