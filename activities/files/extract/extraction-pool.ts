import { Piscina } from 'piscina';
import type { ExtractTextResult, ExtractTextTask } from '../../../workers/tasks/extract-text.ts';
import type { ChunkOptions, DocumentChunk } from '../chunk/chunk-document.ts';
import type { ExtractedDocument } from './extracted-document.ts';
import { BrokenFileError, deserializeExtractionError } from './extraction-errors.ts';
import { taskThread } from '../../../shared/build-paths.ts';

export interface ExtractFileInput {
  /** The uploaded file on local disk (the storage layer downloads S3 objects to a temporary file first). */
  path: string;
  filename: string;
  mimeType: string;
}

export interface ExtractFileOptions {
  signal?: AbortSignal;
  maxChars?: number;
  /** Also chunk on the pool thread; the result then carries `chunks`. */
  chunking?: Omit<ChunkOptions, 'countTokens'>;
}

export interface ExtractFileResult {
  document: ExtractedDocument;
  chunks?: DocumentChunk[];
  /** The worker thread that did the work (tests check it was not the main thread). */
  threadId: number;
}

/**
 * The ingestion worker's extraction pool. Each thread's heap is capped, so a file that would need more
 * memory than that kills only its thread (reported as a file too large to read), never the worker.
 * Aborting the activity's signal terminates the thread running the task, which stops a parser stuck in
 * synchronous work.
 */
export function createExtractionPool(options: { maxThreads?: number; maxHeapMb?: number } = {}) {
  const pool = new Piscina<ExtractTextTask, ExtractTextResult>({
    // The task file, and tsx for its thread when it is TypeScript (shared/build-paths.ts).
    ...taskThread('extract-text'),
    minThreads: 0,
    maxThreads: options.maxThreads ?? 1,
    idleTimeout: 60_000,
    resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 1024 },
  });
  return {
    async extractFile(input: ExtractFileInput, extractOptions: ExtractFileOptions = {}): Promise<ExtractFileResult> {
      const task: ExtractTextTask = { ...input, maxChars: extractOptions.maxChars, chunking: extractOptions.chunking };
      let result: ExtractTextResult;
      try {
        result = await pool.run(task, { signal: extractOptions.signal });
      } catch (error) {
        if ((error as { code?: string })?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          throw new BrokenFileError('The file is too large or too complex to read.');
        }
        throw error;
      }
      if (!result.ok) throw deserializeExtractionError(result.error);
      return { document: result.document, ...(result.chunks ? { chunks: result.chunks } : {}), threadId: result.threadId };
    },
    close: () => pool.destroy(),
  };
}
export type ExtractionPool = ReturnType<typeof createExtractionPool>;
