/**
 * Piscina task: a file's text (and, when asked, its chunks) on a worker thread. PDF parsing, DOCX/XLSX
 * unzipping and tokenising are CPU work that must not stall the worker's event loop. The file is read
 * from disk here, by path, so large uploads are not copied between threads; only the text comes back.
 */
import { threadId } from 'node:worker_threads';
import { chunkDocument, type ChunkOptions, type DocumentChunk } from '../../activities/files/chunk/chunk-document.ts';
import type { ExtractedDocument } from '../../activities/files/extract/extracted-document.ts';
import { serializeExtractionError, type SerializedExtractionError } from '../../activities/files/extract/extraction-errors.ts';
import { extractText } from '../../activities/files/extract/extract-text.ts';

export interface ExtractTextTask {
  path: string;
  filename: string;
  mimeType: string;
  maxChars?: number;
  /** Chunk in the same task (no second trip of the whole text between threads). */
  chunking?: Omit<ChunkOptions, 'countTokens'>;
}

export type ExtractTextResult =
  | { ok: true; document: ExtractedDocument; chunks?: DocumentChunk[]; threadId: number }
  | { ok: false; error: SerializedExtractionError };

export default async function extractTextTask(task: ExtractTextTask): Promise<ExtractTextResult> {
  try {
    const document = await extractText({ path: task.path, filename: task.filename, mimeType: task.mimeType }, { maxChars: task.maxChars });
    const chunks = task.chunking ? chunkDocument(document, task.chunking) : undefined;
    return { ok: true, document, ...(chunks ? { chunks } : {}), threadId };
  } catch (error) {
    // Error classes do not survive the thread boundary; the pool rebuilds the final ones from this shape.
    const serialized = serializeExtractionError(error);
    if (serialized) return { ok: false, error: serialized };
    throw error;
  }
}
