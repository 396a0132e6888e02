import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import fastifyPlugin from 'fastify-plugin';
import { app, type AppDependencies } from './app.ts';

/** A Fastify instance with the server-wide settings (logger, limits, request ids) and the app registered. */
export async function buildServer(dependencies: AppDependencies, options: { logger?: boolean | object } = {}): Promise<FastifyInstance> {
  const { config } = dependencies;
  const server = Fastify({
    logger: options.logger ?? { level: config.LOG_LEVEL },
    bodyLimit: config.BODY_LIMIT,
    // Only listed proxies' X-Forwarded-For counts; request.ip is then the first address from the right
    // that is not a trusted proxy, so a client cannot choose its rate-limit bucket by sending the header.
    trustProxy: config.TRUST_PROXY.length > 0 ? config.TRUST_PROXY : false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // SSE responses stay open for minutes; only idle sockets are closed.
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    // On close only idle sockets are cut: a request that is starting a run gets its answer (the run's
    // id, or an error) instead of a reset. SSE followers are ended by the preClose hook (api/app.ts).
    forceCloseConnections: 'idle',
    // Fastify's default (100) would turn a 128-character bookmark name, percent-encoded in the path (up to
    // 9 characters each), into a 404; the routes' own schemas bound the decoded value.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1536 },
  });
  // 'idle' cuts the sockets idle when close begins; a request still running then leaves its keep-alive
  // socket idle once answered, which would hold close() for the keep-alive timeout: sweep until closed.
  let idleSweep: NodeJS.Timeout | undefined;
  server.addHook('preClose', async () => {
    idleSweep = setInterval(() => server.server.closeIdleConnections(), 100).unref();
  });
  server.addHook('onClose', async () => clearInterval(idleSweep));
  // Not encapsulated: the app is the whole server, and its decorations (e.g. streamHub) belong to it.
  await server.register(fastifyPlugin(app), dependencies);
  return server;
}
