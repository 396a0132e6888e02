import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { openAsBlob } from 'node:fs';
import { unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { FileStrategy } from '../../shared/file-config.ts';
import type { IngestFileInput } from '../../shared/file-ingestion.ts';
import { File } from '../../shared/models/file.ts';
import type { FileActivityDependencies } from './file-dependencies.ts';
import { BrokenFileError, isNonRetryableExtractionError } from './extract/extraction-errors.ts';
import { indexChunks } from './index/index-chunks.ts';
import { NotFoundInStorageError } from './storage/file-storage.ts';
import { storeExtractedText } from './store-extracted-text.ts';
import type { FileProgressReporter } from './file-progress-reporter.ts';

const HEARTBEAT_INTERVAL_MS = 5000;

/** The file's record, unless it was deleted meanwhile (then there is nothing to ingest: final). */
async function setStage(input: IngestFileInput, status: 'extracting' | 'embedding', progress?: FileProgressReporter): Promise<void> {
  const result = await File.updateOne({ file_id: input.fileId, user: input.userId }, { $set: { status }, $unset: { error: '' } });
  if (result.matchedCount === 0) throw ApplicationFailure.nonRetryable('The file was deleted before it was processed', 'FileGone');
  // After the record, so a follower never sees a stage the record does not have yet; a retry starts its stages again.
  await progress?.report(input.fileId, { type: 'stage', status, attempt: Context.current().info.attempt });
}

/**
 * Extract → chunk → embed → index one file (workflows/ingest-file.ts). The stored object is copied to a
 * temporary file (an S3 object too), which the extraction thread reads; chunking is deterministic, so a retry
 * makes the same chunks, skips the batches an earlier attempt wrote (its heartbeat says how many) and upserts
 * by chunk id, so nothing is written twice. A file that cannot be read fails as BrokenFile/UnsupportedFile
 * (no retries); everything else (storage, embeddings 429/5xx, the index) is retried by Temporal.
 */
export function createIngestFile(deps: FileActivityDependencies) {
  return async function ingestFile(input: IngestFileInput): Promise<{ chunks: number }> {
    const context = Context.current();
    const previous = context.info.heartbeatDetails as { written?: number } | undefined;
    let progress: { written: number; total: number } | undefined;
    const heartbeat = setInterval(() => context.heartbeat(progress ?? previous ?? {}), HEARTBEAT_INTERVAL_MS);
    const local = path.join(os.tmpdir(), `durachat-ingest-${randomUUID()}`);
    try {
      await setStage(input, 'extracting', deps.progress);
      const storage = deps.storages(input.storage.strategy as FileStrategy);
      try {
        const { body } = await storage.get(input.storage.key);
        await pipeline(body, createWriteStream(local), { signal: context.cancellationSignal });
      } catch (error) {
        if (error instanceof NotFoundInStorageError) throw ApplicationFailure.nonRetryable('The uploaded file is missing from storage', 'FileGone');
        throw error;
      }

      const index = deps.index;
      if (index.ingestsRawFiles) {
        // A LibreChat RAG API reads, chunks and embeds the file itself.
        await setStage(input, 'embedding', deps.progress);
        const { knownType } = await index.ingestFile({ fileId: input.fileId, userId: input.userId, filename: input.filename, contentType: input.mimeType, content: await openAsBlob(local, { type: input.mimeType }) }, context.cancellationSignal);
        if (!knownType) throw ApplicationFailure.nonRetryable(`The search service cannot read ${input.filename}`, 'UnsupportedFile');
        return { chunks: await index.countChunks(input.fileId, context.cancellationSignal) };
      }

      let chunks;
      try {
        let document;
        ({ document, chunks } = await deps.extraction.extractFile({ path: local, filename: input.filename, mimeType: input.mimeType }, { signal: context.cancellationSignal, chunking: {} }));
        // The text goes on the record first (a chat attachment's context), so it is there even without file search.
        await storeExtractedText(input.fileId, input.userId, document);
      } catch (error) {
        if (isNonRetryableExtractionError(error)) throw ApplicationFailure.nonRetryable(error.message, error instanceof BrokenFileError ? 'BrokenFile' : 'UnsupportedFile');
        throw error;
      }
      const embeddingsEndpoint = deps.embeddingsEndpoint;
      if (!embeddingsEndpoint) throw ApplicationFailure.nonRetryable(`File search is not set up on this server: ${deps.embeddingsUnavailable ?? 'no embeddings endpoint'}`, 'FileSearchUnavailable');
      if (!chunks || chunks.length === 0) throw ApplicationFailure.nonRetryable(`${input.filename} has no text that can be searched (a scanned document needs OCR)`, 'UnsupportedFile');

      await setStage(input, 'embedding', deps.progress);
      const startAt = Math.min(previous?.written ?? 0, chunks.length);
      // A first attempt starts from an empty index for the file: chunks of an earlier, longer version go.
      if (startAt === 0) await index.deleteFile(input.fileId, context.cancellationSignal);
      await indexChunks({
        index,
        embedder: deps.embedder,
        endpoint: embeddingsEndpoint,
        model: deps.embeddingsModel,
        dimensions: deps.embeddingsDimensions,
        fileId: input.fileId,
        userId: input.userId,
        chunks: chunks.map((chunk) => ({ index: chunk.index, text: chunk.text, pages: chunk.pages })),
        startAt,
        onProgress: (written, total) => {
          progress = { written, total };
          context.heartbeat(progress);
          void deps.progress?.report(input.fileId, { type: 'embedding', embedded: written, total });
        },
        signal: context.cancellationSignal,
      });
      // Deleted while it was being indexed: what was written goes too (the deletion's own pass may have run first).
      if ((await File.countDocuments({ file_id: input.fileId, user: input.userId })) === 0) {
        await index.deleteFile(input.fileId, context.cancellationSignal);
        throw ApplicationFailure.nonRetryable('The file was deleted while it was processed', 'FileGone');
      }
      return { chunks: chunks.length };
    } finally {
      clearInterval(heartbeat);
      await unlink(local).catch(() => undefined);
    }
  };
}
