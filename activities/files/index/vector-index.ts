/**
 * Where file chunks are searched. Two kinds of index fit behind one interface:
 *
 * - durachat's own (LanceDB): ingestion extracts, chunks and embeds, then hands the index vectors
 *   (`ingestsRawFiles: false`, `upsertChunks`); a query needs the question's vector.
 * - an existing LibreChat RAG API: it extracts, chunks and embeds by itself, so it takes the whole file
 *   (`ingestsRawFiles: true`, `ingestFile`) and the question's text.
 *
 * `ingestsRawFiles` is the discriminant: the ingestion workflow reads it once and either runs its
 * extract → chunk → embed → upsert steps or sends the file as it is; TypeScript then offers only the
 * method that exists. `query` always takes the text and, for a vector index, the vector too (file-search.ts
 * embeds it). Every method is safe to repeat, so an activity retry or a re-run ingestion never duplicates.
 */
export interface ChunkToIndex {
  /** Stable across runs (`${fileId}:${index}`): the key an upsert replaces by. */
  id: string;
  index: number;
  text: string;
  /** 1-based page numbers the chunk spans; empty when the format has no pages. */
  pages: number[];
  vector: number[];
}

export interface ChunkHit {
  fileId: string;
  /** The chunk's position in its file; null from the RAG API, which keeps no order. */
  chunkIndex: number | null;
  text: string;
  pages: number[];
  /** Relevance in 0..1 (1 − cosine distance, floored at 0), comparable across both kinds of index. */
  score: number;
}

export interface IndexQuery {
  /** Only this user's chunks are searched (the RAG API: the JWT's user, or `entityId`). */
  userId: string;
  fileIds: string[];
  /** The question as text: what the RAG API embeds itself. */
  text: string;
  /** The question's vector, from the same embeddings model the chunks were embedded with (vector indexes need it). */
  vector?: number[];
  k: number;
  /** RAG API only: the agent whose files these are (LibreChat's `entity_id`). */
  entityId?: string;
}

export interface RawFile {
  fileId: string;
  userId: string;
  filename: string;
  contentType: string;
  /** A Blob, so a file on disk goes as `await fs.openAsBlob(path)` without being read into memory. */
  content: Blob;
  entityId?: string;
}

interface IndexCommon {
  readonly kind: 'lancedb' | 'rag-api';
  /** Best first, at most `k`, never another user's chunks nor files outside `fileIds`. */
  query(query: IndexQuery, signal?: AbortSignal): Promise<ChunkHit[]>;
  /** Removes every chunk of the file; a file that has none is not an error. */
  deleteFile(fileId: string, signal?: AbortSignal): Promise<void>;
  countChunks(fileId: string, signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

export interface ChunkVectorIndex extends IndexCommon {
  readonly ingestsRawFiles: false;
  /** Inserts or replaces by chunk id: the same batch written twice leaves one copy. */
  upsertChunks(fileId: string, userId: string, chunks: ChunkToIndex[]): Promise<void>;
}

export interface RawFileVectorIndex extends IndexCommon {
  readonly ingestsRawFiles: true;
  /** Replaces whatever the index held for the file. `knownType: false`: the service cannot read this type. */
  ingestFile(file: RawFile, signal?: AbortSignal): Promise<{ knownType: boolean }>;
}

export type VectorIndex = ChunkVectorIndex | RawFileVectorIndex;

/** Cosine distance (0 same direction, 2 opposite) as LibreChat shows relevance: 1 − distance, kept in 0..1. */
export function relevanceFromDistance(distance: number): number {
  if (!Number.isFinite(distance)) return 0;
  return Math.min(1, Math.max(0, 1 - distance));
}
