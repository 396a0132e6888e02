import type { FastifyRequest } from 'fastify';

/**
 * Which of LibreChat's client protocols a request speaks (documented in README.md, "LibreChat clients"):
 * - rc1 (v0.8.1 and earlier) posts a chat and reads the reply as SSE on the same response. Its request
 *   carries none of the markers below.
 * - Clients since v0.8.2 post, expect JSON `{streamId, …}`, then follow `GET /chat/stream/:id`. The newest
 *   (v0.8.8, "generation protocol 2") marks every request with `X-LibreChat-Generation-Protocol: 2`, the
 *   body field `generationProtocolVersion: 2` and a `clientRequestId`; GETs add `?generationProtocolVersion=2`.
 *   Older JSON clients are axios, which sends `Accept: application/json, …`.
 */
export const GENERATION_PROTOCOL_HEADER = 'x-librechat-generation-protocol';

export function speaksProtocol2(request: FastifyRequest): boolean {
  const body = request.body as { generationProtocolVersion?: unknown } | undefined;
  const query = request.query as { generationProtocolVersion?: unknown } | undefined;
  return request.headers[GENERATION_PROTOCOL_HEADER] === '2' || body?.generationProtocolVersion === 2 || query?.generationProtocolVersion === '2';
}

/** Whether a chat POST wants JSON (a stream id to follow) rather than SSE on the same response. */
export function wantsJsonStart(request: FastifyRequest): boolean {
  const body = request.body as { clientRequestId?: unknown; generationProtocolVersion?: unknown } | undefined;
  const accept = request.headers.accept ?? '';
  return (
    request.headers[GENERATION_PROTOCOL_HEADER] !== undefined ||
    body?.generationProtocolVersion !== undefined ||
    body?.clientRequestId !== undefined ||
    (accept.includes('application/json') && !accept.includes('text/event-stream'))
  );
}
