import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import type { ServerResponse } from 'node:http';
import { formatSse, readEntriesAfter } from '../shared/chat-stream.ts';

const KEEP_ALIVE_MS = 15_000;

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

async function write(response: ServerResponse, chunk: string): Promise<void> {
  if (!response.write(chunk)) await new Promise<void>((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * Replays a run's stream after `fromId` ("0" = from the start) and follows it live until its last
 * entry, on a connection of its own (XREAD BLOCK holds it). Ends quietly when the client goes away;
 * the run itself is not affected.
 */
export async function pipeRunStream(options: { redis: Redis; streamKey: string; fromId: string; response: ServerResponse }): Promise<void> {
  const { response, streamKey } = options;
  const reader = options.redis.duplicate({ enableAutoPipelining: false, connectionName: 'durachat-sse' });
  let clientGone = false;
  const onClose = () => {
    clientGone = true;
    reader.disconnect();
  };
  response.once('close', onClose);
  let lastId = options.fromId;
  try {
    while (!clientGone) {
      const entries = await readEntriesAfter(reader, streamKey, lastId, KEEP_ALIVE_MS, 500);
      if (!entries) {
        // Idle: keep proxies from closing the connection, and stop if the stream expired meanwhile.
        if ((await reader.exists(streamKey)) === 0) break;
        await write(response, ': keep-alive\n\n');
        continue;
      }
      let ended = false;
      for (const entry of entries) {
        await write(response, formatSse(entry));
        lastId = entry.id;
        if (entry.end) ended = true;
      }
      if (ended) break;
    }
  } catch (error) {
    if (!clientGone) throw error;
  } finally {
    response.off('close', onClose);
    reader.disconnect();
    if (!response.writableEnded) response.end();
  }
}
