import type { Types } from 'mongoose';
import type { FileStatus } from '../../shared/models/file.ts';

export interface LeanFile {
  _id: Types.ObjectId;
  user: Types.ObjectId;
  file_id: string;
  temp_file_id?: string;
  bytes: number;
  filename: string;
  filepath: string;
  object: 'file';
  embedded: boolean;
  type: string;
  usage: number;
  source: string;
  width?: number;
  height?: number;
  conversationId?: string;
  context?: string;
  metadata?: Record<string, unknown>;
  storageKey: string;
  sha256?: string;
  status: FileStatus;
  error?: string;
  /** Chunks indexed by the ingestion (with status `ready`). */
  chunks?: number;
  /** The agent it was uploaded to (with `tool_resource`). */
  agent_id?: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What file reads for the API project away: the extracted `text` (up to a megabyte per file, kept for the
 * prompt, activities/chat/attached-files.ts) is never shown and should not be read for a listing.
 */
export const FILE_VIEW_PROJECTION = { text: 0 } as const;

/**
 * LibreChat's TFile plus durachat's `status`/`error`; where the bytes sit (`storageKey`) stays inside, and so
 * does the extracted `text` (fields are picked one by one, so a new internal field never leaks).
 */
export function publicFile(file: LeanFile) {
  return {
    _id: String(file._id),
    user: String(file.user),
    file_id: file.file_id,
    ...(file.temp_file_id ? { temp_file_id: file.temp_file_id } : {}),
    ...(file.conversationId ? { conversationId: file.conversationId } : {}),
    bytes: file.bytes,
    filename: file.filename,
    filepath: file.filepath,
    object: 'file' as const,
    embedded: file.embedded,
    type: file.type,
    usage: file.usage,
    source: file.source,
    ...(file.context ? { context: file.context } : {}),
    ...(file.width !== undefined ? { width: file.width } : {}),
    ...(file.height !== undefined ? { height: file.height } : {}),
    ...(file.metadata ? { metadata: file.metadata } : {}),
    status: file.status,
    ...(file.error ? { error: file.error } : {}),
    ...(file.chunks !== undefined ? { chunks: file.chunks } : {}),
    createdAt: file.createdAt,
    updatedAt: file.updatedAt,
  };
}
export type PublicFile = ReturnType<typeof publicFile>;
