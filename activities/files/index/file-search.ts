import type { ChunkHit, VectorIndex } from './vector-index.ts';

export interface FileSearchDependencies {
  index: VectorIndex;
  /** The question's vector, from the model the chunks were embedded with; unused when the index embeds itself. */
  embedQuery: (text: string, signal: AbortSignal) => Promise<number[]>;
}

export interface FileSearchRequest {
  userId: string;
  fileIds: string[];
  query: string;
  /** LibreChat keeps the best 10 passages across files. */
  k?: number;
  entityId?: string;
}

/** What the `file_search` tool calls: one question over some of a user's files, whichever index is configured. */
export function createFileSearch({ index, embedQuery }: FileSearchDependencies) {
  return {
    async search(request: FileSearchRequest, signal: AbortSignal): Promise<ChunkHit[]> {
      if (request.fileIds.length === 0 || !request.query.trim()) return [];
      const vector = index.ingestsRawFiles ? undefined : await embedQuery(request.query, signal);
      return index.query({ userId: request.userId, fileIds: request.fileIds, text: request.query, vector, k: request.k ?? 10, entityId: request.entityId }, signal);
    },
  };
}
export type FileSearch = ReturnType<typeof createFileSearch>;
