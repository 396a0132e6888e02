import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../shared/config.ts';
import { ValidationError } from '../../shared/errors.ts';
import { findOperatorKey } from '../validation.ts';

export const securityPlugin = fp(async (app: FastifyInstance, options: { config: Config }) => {
  await app.register(helmet, { contentSecurityPolicy: false, crossOriginResourcePolicy: { policy: 'same-site' } });
  // x-stream-id must be readable by the browser: it is how a client resumes a run after a reload.
  await app.register(cors, { origin: options.config.CORS_ORIGINS, credentials: true, exposedHeaders: ['x-stream-id'] });
  await app.register(cookie);
  // MongoDB operator injection: no `$`-prefixed or dotted key may reach a query, whatever the route.
  app.addHook('preValidation', async (request) => {
    const key = findOperatorKey(request.body) ?? findOperatorKey(request.query);
    if (key) throw new ValidationError(`Field names may not start with "$" or contain "." (got "${key}")`);
  });
});
