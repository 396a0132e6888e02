import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../shared/config.ts';
import { UnauthorizedError } from '../../shared/errors.ts';
import { runStrategy } from '../passport/run-strategy.ts';
import { createJwtStrategy, type AuthenticatedUser } from '../passport/strategies.ts';

declare module 'fastify' {
  interface FastifyRequest {
    user?: AuthenticatedUser;
  }
  interface FastifyInstance {
    /** The auth preset: a preHandler that requires a valid Bearer access token. */
    requireJwt: (request: FastifyRequest) => Promise<void>;
  }
}

export function authenticatedUser(request: FastifyRequest): AuthenticatedUser {
  if (!request.user) throw new UnauthorizedError('Unauthorized');
  return request.user;
}

export const authenticatePlugin = fp(async (app: FastifyInstance, options: { config: Config }) => {
  const jwtStrategy = createJwtStrategy(options.config);
  app.decorateRequest('user', undefined);
  app.decorate('requireJwt', async (request: FastifyRequest) => {
    const outcome = await runStrategy<AuthenticatedUser>(jwtStrategy, request);
    if (!outcome.user) throw new UnauthorizedError('Unauthorized');
    request.user = outcome.user;
  });
});
