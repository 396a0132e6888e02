import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { VectorIndexTransientError, classifyIndexStatus, vectorIndexRejected } from './index-errors.ts';
import { relevanceFromDistance, type ChunkHit, type IndexQuery, type RawFile, type RawFileVectorIndex } from './vector-index.ts';

export interface RagApiVectorIndexOptions {
  /** RAG_API_URL, e.g. http://rag_api:8000 */
  baseURL: string;
  /** The JWT_SECRET the RAG API verifies with (the same secret LibreChat and durachat sign sessions with). */
  jwtSecret: string;
  /** Per request; `/embed` of a large PDF can take minutes on the RAG API's side. */
  embedTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The RAG API does not check ownership on delete and list; LibreChat sends the acting user's token. */
const SERVICE_USER = 'durachat';

/** `/query` answers `[[{page_content, metadata}, distance], ...]` (LangChain documents with scores). */
type QueryAnswer = Array<[{ page_content: string; metadata?: { page?: number; file_id?: string } }, number]>;

/**
 * An existing LibreChat RAG API (danny-avila/rag_api) as the index: it extracts, chunks and embeds the file
 * itself, so this adapter sends the file (`POST /embed`), the question's text (`POST /query`, one call per
 * file, merged best first as LibreChat's file_search does) and deletes with `DELETE /documents`.
 * Each call carries a short-lived HS256 JWT `{id: userId}`, as LibreChat signs it.
 *
 * `/embed` appends (it never replaces a file's chunks), so `ingestFile` deletes the file's documents first:
 * a retried or re-run ingestion ends with one copy. Status codes are classified like the model providers'
 * (408/409/429/5xx and lost connections retried, other 4xx final).
 */
export function createRagApiVectorIndex(options: RagApiVectorIndexOptions): RawFileVectorIndex {
  const baseURL = options.baseURL.replace(/\/+$/, '');
  const embedTimeoutMs = options.embedTimeoutMs ?? 300_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;

  // A KeyObject: handed a string, jsonwebtoken tries it as a PEM key first on every sign (api/services/token-service.ts).
  const key = createSecretKey(Buffer.from(options.jwtSecret));
  const token = (userId: string) => jwt.sign({ id: userId }, key, { algorithm: 'HS256', expiresIn: '5m' });

  /** One call: the parsed JSON answer, or a classified error. 404 is the caller's to judge (returned, not thrown). */
  async function call(action: string, path: string, init: RequestInit & { userId: string; timeoutMs: number; signal?: AbortSignal }): Promise<{ status: number; body: any }> {
    const signals = [AbortSignal.timeout(init.timeoutMs), ...(init.signal ? [init.signal] : [])];
    let response: Response;
    try {
      response = await fetch(`${baseURL}${path}`, {
        method: init.method,
        body: init.body,
        headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token(init.userId)}` },
        signal: AbortSignal.any(signals),
        redirect: 'manual',
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new VectorIndexTransientError(`RAG API ${action} failed: ${(error as Error).message}${(error as Error).cause ? ` (${String((error as { cause: unknown }).cause)})` : ''}`);
    }
    const text = await response.text().catch(() => '');
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.status === 404) return { status: 404, body };
    if (!response.ok) {
      const detail = typeof body?.detail === 'string' ? body.detail : body?.detail ? JSON.stringify(body.detail) : text.slice(0, 300) || response.statusText;
      throw classifyIndexStatus(response.status, detail, action);
    }
    if (body === undefined) throw new VectorIndexTransientError(`RAG API ${action} answered ${response.status} without JSON`);
    return { status: response.status, body };
  }

  async function deleteDocuments(fileId: string, userId: string, signal?: AbortSignal) {
    // LibreChat's body: a bare array of file ids. 404 (nothing stored for it) is what deleting wants anyway.
    await call('delete', '/documents', { method: 'DELETE', body: JSON.stringify([fileId]), headers: { 'content-type': 'application/json' }, userId, timeoutMs: requestTimeoutMs, signal });
  }

  return {
    kind: 'rag-api',
    ingestsRawFiles: true,

    async ingestFile(file: RawFile, signal?: AbortSignal) {
      await deleteDocuments(file.fileId, file.userId, signal);
      const form = new FormData();
      form.set('file_id', file.fileId);
      // The RAG API picks its loader from the part's content type and the file name.
      form.set('file', file.content.type === file.contentType ? file.content : new Blob([file.content], { type: file.contentType }), file.filename);
      if (file.entityId) form.set('entity_id', file.entityId);
      const { status, body } = await call('embed', '/embed', { method: 'POST', body: form, userId: file.userId, timeoutMs: embedTimeoutMs, signal });
      if (status === 404) throw vectorIndexRejected(`RAG API at ${baseURL} has no /embed route: is RAG_API_URL right?`);
      // The RAG API reports a failed store (its embeddings provider down, say) as 200 with status false.
      if (body.status === false) throw new VectorIndexTransientError(`RAG API could not store the file: ${body.message ?? 'no reason given'}`);
      return { knownType: Boolean(body.known_type) };
    },

    async query(query: IndexQuery, signal?: AbortSignal): Promise<ChunkHit[]> {
      const k = Math.min(Math.max(1, Math.floor(query.k)), 100);
      const perFile = await Promise.all(
        [...new Set(query.fileIds)].map(async (fileId) => {
          const { status, body } = await call('query', '/query', {
            method: 'POST',
            body: JSON.stringify({ file_id: fileId, query: query.text, k, ...(query.entityId ? { entity_id: query.entityId } : {}) }),
            headers: { 'content-type': 'application/json' },
            userId: query.userId,
            timeoutMs: requestTimeoutMs,
            signal,
          });
          if (status === 404 || !Array.isArray(body)) return [];
          return (body as QueryAnswer).map(([document, distance]): ChunkHit => {
            const page = document?.metadata?.page;
            return {
              fileId,
              // The RAG API keeps no chunk order.
              chunkIndex: null,
              text: String(document?.page_content ?? ''),
              // PyPDF numbers pages from 0; durachat's pages are 1-based.
              pages: typeof page === 'number' ? [page + 1] : [],
              score: relevanceFromDistance(Number(distance)),
            };
          });
        }),
      );
      return perFile.flat().sort((first, second) => second.score - first.score).slice(0, k);
    },

    async deleteFile(fileId: string, signal?: AbortSignal) {
      await deleteDocuments(fileId, SERVICE_USER, signal);
    },

    async countChunks(fileId: string, signal?: AbortSignal) {
      const { status, body } = await call('count', `/documents?ids=${encodeURIComponent(fileId)}`, { method: 'GET', userId: SERVICE_USER, timeoutMs: requestTimeoutMs, signal });
      return status === 404 || !Array.isArray(body) ? 0 : body.length;
    },

    async close() {},
  };
}
