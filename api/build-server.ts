import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
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
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true },
  });
  await server.register(app, dependencies);
  return server;
}
