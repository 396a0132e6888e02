import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';

/** Takes the response over from Fastify and writes SSE headers (keeping the ones hooks set, e.g. CORS). */
export function openSse(reply: FastifyReply, extraHeaders: Record<string, string> = {}): ServerResponse {
  reply.hijack();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = String(value);
  reply.raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...extraHeaders,
  });
  return reply.raw;
}
