import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SameOriginPageServer {
  url: string;
  close: () => Promise<void>;
}

/**
 * Serves one HTML page and passes `/api/*` through to the API, so the page and the API share an origin (as
 * LibreChat's client and server do) and no CORS setting is involved. Responses are piped chunk by chunk, so
 * SSE frames reach the browser as the API writes them; a browser that goes away (a reload) closes the upstream
 * request too, which is what the API sees from a real client.
 */
export async function startSameOriginPageServer(options: { pagePath: string; apiBaseUrl: string }): Promise<SameOriginPageServer> {
  const api = new URL(options.apiBaseUrl);
  const server = http.createServer((request, response) => {
    if (!request.url?.startsWith('/api/')) {
      readFile(options.pagePath).then(
        (html) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html),
        (error: Error) => response.writeHead(500).end(error.message),
      );
      return;
    }
    const upstream = http.request(
      { host: api.hostname, port: api.port, method: request.method, path: request.url, headers: { ...request.headers, host: api.host } },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        response.flushHeaders();
        upstreamResponse.pipe(response);
      },
    );
    upstream.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`proxy: ${error.message}`);
    });
    response.on('close', () => upstream.destroy());
    request.pipe(upstream);
  });
  server.on('connection', (socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
