import type { ResolvedEndpoint } from '../../../shared/endpoints-config.ts';
import type { Embedder } from '../../providers/embeddings.ts';
import type { ChunkVectorIndex } from './vector-index.ts';

export interface ChunkToEmbed {
  index: number;
  text: string;
  pages: number[];
}

export interface IndexChunksRequest {
  index: ChunkVectorIndex;
  embedder: Pick<Embedder, 'embed' | 'batchSize'>;
  endpoint: ResolvedEndpoint;
  model: string;
  dimensions?: number;
  fileId: string;
  userId: string;
  chunks: ChunkToEmbed[];
  /**
   * How many chunks an earlier attempt already wrote (its last heartbeat's details): they are skipped, so a
   * retry after a 429 or a killed worker does not pay for their embeddings again. 0 on a first attempt.
   */
  startAt?: number;
  /** After each batch is written: the activity heartbeats `written` here, which `startAt` reads back. */
  onProgress?: (written: number, total: number) => void;
  signal: AbortSignal;
}

/**
 * Embeds and writes a file's chunks one batch at a time, so a failure loses at most one batch of work.
 * Writes are upserts by `${fileId}:${index}`: a batch written twice (the attempt died between writing
 * and heartbeating) is still one copy. Returns the input tokens the embeddings API reported.
 */
export async function indexChunks(request: IndexChunksRequest): Promise<{ inputTokens: number }> {
  const { chunks, embedder } = request;
  let inputTokens = 0;
  for (let start = Math.max(0, request.startAt ?? 0); start < chunks.length; start += embedder.batchSize) {
    const batch = chunks.slice(start, start + embedder.batchSize);
    const { vectors, usage } = await embedder.embed({ endpoint: request.endpoint, model: request.model, dimensions: request.dimensions, inputs: batch.map((chunk) => chunk.text), signal: request.signal });
    inputTokens += usage?.inputTokens ?? 0;
    await request.index.upsertChunks(
      request.fileId,
      request.userId,
      batch.map((chunk, position) => ({ id: `${request.fileId}:${chunk.index}`, index: chunk.index, text: chunk.text, pages: chunk.pages, vector: vectors[position]! })),
    );
    request.onProgress?.(start + batch.length, chunks.length);
  }
  return { inputTokens };
}
