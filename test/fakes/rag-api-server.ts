import { createHash, createSecretKey } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import jwt from 'jsonwebtoken';
import { demoEmbedding } from '../../workers/demo-provider/embeddings.ts';

/**
 * LibreChat's RAG API (danny-avila/rag_api, app/routes/document_routes.py and app/middleware.py) as far as
 * durachat uses it, in memory:
 * - every route but /health needs `Authorization: Bearer <HS256 JWT>` when a secret is set (401 with
 *   `{detail}` otherwise, as its security middleware answers); the token's `id` is the user;
 * - `POST /embed` multipart `file_id`, `file`, `entity_id?` → `{status, message, file_id, filename, known_type}`;
 *   it appends (embedding the same file twice stores its chunks twice, as the real one does); documents
 *   carry metadata `{file_id, user_id (entity_id or the token's id), digest, source, page?}`; a `.pdf` here
 *   is text with form feeds between pages (pages numbered from 0, as PyPDF does);
 * - `POST /query {file_id, query, k=4, entity_id?}` → `[[Document, distance], ...]`, cosine distance, only
 *   documents of that file whose user_id is the entity or the token's user (its pgvector filter);
 * - `DELETE /documents` body `[file_id, ...]` (LibreChat's) or `{file_ids}` → 404 when one had nothing;
 * - `GET /documents?ids=...` → the files' documents, 404 when one has none; `GET /health`.
 * Missing fields answer FastAPI's 422. Embeddings are the demo server's deterministic vectors.
 */
export interface FakeRagApi {
  url: string;
  /** The next `times` requests to `path` answer `status` (a RAG API or its embeddings provider failing). */
  failNext: (path: string, status: number, times?: number) => void;
  requestCount: (path?: string) => number;
  /** Stored documents per file (duplicates included), for tests of idempotency. */
  documentCount: (fileId: string) => number;
  close: () => Promise<void>;
}

interface StoredDocument {
  id: string;
  fileId: string;
  userId: string;
  content: string;
  page?: number;
  source: string;
  vector: number[];
}

const KNOWN_EXTENSIONS = new Set(['txt', 'md', 'csv', 'json', 'pdf', 'html', 'xml', 'js', 'ts', 'py']);

function send(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function missingField(response: ServerResponse, location: 'body', field: string) {
  send(response, 422, { detail: [{ type: 'missing', loc: [location, field], msg: 'Field required', input: null }] });
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The RAG API's RecursiveCharacterTextSplitter, roughly: paragraphs packed up to `size` characters. */
function splitText(text: string, size: number): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const paragraph of text.split(/\n\s*\n/).map((part) => part.trim()).filter(Boolean)) {
    if (current && current.length + paragraph.length + 2 > size) {
      pieces.push(current);
      current = '';
    }
    current = current ? `${current}\n\n${paragraph}` : paragraph;
    while (current.length > size) {
      pieces.push(current.slice(0, size));
      current = current.slice(size);
    }
  }
  if (current) pieces.push(current);
  return pieces;
}

const cosineDistance = (first: number[], second: number[]) => 1 - first.reduce((total, value, index) => total + value * second[index]!, 0);

export function startFakeRagApi(options: { jwtSecret?: string; chunkSize?: number } = {}): Promise<FakeRagApi> {
  const documents: StoredDocument[] = [];
  const failures = new Map<string, { status: number; times: number }>();
  const counts = new Map<string, number>();
  const key = options.jwtSecret ? createSecretKey(Buffer.from(options.jwtSecret)) : undefined;
  let nextId = 0;

  function authenticate(request: IncomingMessage, response: ServerResponse): { id?: string } | false | undefined {
    if (!key) return undefined;
    const authorization = request.headers.authorization;
    if (!authorization?.startsWith('Bearer ')) {
      send(response, 401, { detail: 'Missing or invalid Authorization header' });
      return false;
    }
    try {
      return jwt.verify(authorization.split(' ')[1]!, key, { algorithms: ['HS256'] }) as { id?: string };
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) send(response, 401, { detail: 'Token has expired' });
      else send(response, 401, { detail: `Invalid token: ${(error as Error).message}` });
      return false;
    }
  }

  async function embed(request: IncomingMessage, response: ServerResponse, user: { id?: string } | undefined) {
    const form = await new Request('http://rag/embed', { method: 'POST', headers: request.headers as Record<string, string>, body: Readable.toWeb(request) as ReadableStream, duplex: 'half' } as RequestInit).formData();
    const fileId = form.get('file_id');
    const file = form.get('file');
    if (typeof fileId !== 'string') return missingField(response, 'body', 'file_id');
    if (!(file instanceof Blob)) return missingField(response, 'body', 'file');
    const entityId = form.get('entity_id');
    const userId = typeof entityId === 'string' && entityId ? entityId : (user?.id ?? 'public');
    const filename = (file as File).name ?? 'upload';
    const extension = filename.includes('.') ? filename.split('.').pop()!.toLowerCase() : '';
    const text = Buffer.from(await file.arrayBuffer()).toString('utf8');
    const pages = extension === 'pdf' ? text.split('\f') : [text];
    pages.forEach((pageText, page) => {
      for (const content of splitText(pageText, options.chunkSize ?? 1500)) {
        documents.push({ id: String(nextId++), fileId, userId, content, source: `/app/uploads/${userId}/${filename}`, vector: demoEmbedding(content), ...(extension === 'pdf' ? { page } : {}) });
      }
    });
    send(response, 200, { status: true, message: 'File processed successfully.', file_id: fileId, filename, known_type: KNOWN_EXTENSIONS.has(extension) });
  }

  const asLangChain = (document: StoredDocument) => ({
    id: document.id,
    metadata: {
      file_id: document.fileId,
      user_id: document.userId,
      digest: createHash('md5').update(document.content).digest('hex'),
      source: document.source,
      ...(document.page !== undefined ? { page: document.page } : {}),
    },
    page_content: document.content,
    type: 'Document',
  });

  async function query(request: IncomingMessage, response: ServerResponse, user: { id?: string } | undefined) {
    const body = JSON.parse((await readBody(request)).toString('utf8') || 'null');
    if (typeof body?.query !== 'string') return missingField(response, 'body', 'query');
    if (typeof body?.file_id !== 'string') return missingField(response, 'body', 'file_id');
    const authorized = body.entity_id || (user ? user.id : 'public');
    const vector = demoEmbedding(body.query);
    const found = documents
      .filter((document) => document.fileId === body.file_id && document.userId === authorized)
      .map((document) => [asLangChain(document), cosineDistance(vector, document.vector)] as const)
      .sort((first, second) => first[1] - second[1])
      .slice(0, Number(body.k ?? 4));
    send(response, 200, found);
  }

  async function deleteDocuments(request: IncomingMessage, response: ServerResponse) {
    const body = JSON.parse((await readBody(request)).toString('utf8') || 'null');
    const ids: unknown = Array.isArray(body) ? body : body?.file_ids;
    if (!Array.isArray(ids)) return missingField(response, 'body', 'file_ids');
    const existing = new Set(documents.filter((document) => ids.includes(document.fileId)).map((document) => document.fileId));
    for (let index = documents.length - 1; index >= 0; index -= 1) if (ids.includes(documents[index]!.fileId)) documents.splice(index, 1);
    if (!ids.every((id) => existing.has(id))) return send(response, 404, { detail: 'One or more IDs not found' });
    send(response, 200, { message: `Documents for ${ids.length} file${ids.length > 1 ? 's' : ''} deleted successfully` });
  }

  function listDocuments(url: URL, response: ServerResponse) {
    const ids = url.searchParams.getAll('ids');
    if (ids.length === 0) return send(response, 422, { detail: [{ type: 'missing', loc: ['query', 'ids'], msg: 'Field required', input: null }] });
    const found = documents.filter((document) => ids.includes(document.fileId));
    if (!ids.every((id) => found.some((document) => document.fileId === id))) return send(response, 404, { detail: 'One or more IDs not found' });
    send(response, 200, found.map((document) => ({ page_content: document.content, metadata: asLangChain(document).metadata })));
  }

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://rag');
    counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
    if (url.pathname === '/health') return send(response, 200, { status: 'UP' });
    const user = authenticate(request, response);
    if (user === false) return;
    const failure = failures.get(url.pathname);
    if (failure && failure.times > 0) {
      failure.times -= 1;
      request.resume();
      return send(response, failure.status, { detail: `Injected failure ${failure.status}` });
    }
    const route = `${request.method} ${url.pathname}`;
    const handled =
      route === 'POST /embed' ? embed(request, response, user)
      : route === 'POST /query' ? query(request, response, user)
      : route === 'DELETE /documents' ? deleteDocuments(request, response)
      : route === 'GET /documents' ? Promise.resolve(listDocuments(url, response))
      : Promise.resolve(send(response, 404, { detail: 'Not Found' }));
    handled.catch((error: Error) => {
      if (!response.headersSent) send(response, 500, { detail: error.message });
      else response.destroy();
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        failNext: (path, status, times = 1) => void failures.set(path, { status, times }),
        requestCount: (path) => (path === undefined ? [...counts.values()].reduce((total, count) => total + count, 0) : (counts.get(path) ?? 0)),
        documentCount: (fileId) => documents.filter((document) => document.fileId === fileId).length,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
