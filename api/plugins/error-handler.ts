import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  RateLimitError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from '../../shared/errors.ts';

const statusByError = new Map<Function, number>([
  [ValidationError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [RateLimitError, 429],
  [UnavailableError, 503],
]);

/** One error shape for every route: `{message, requestId}`, never a stack trace. */
export const errorHandlerPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status = 500;
    let message = 'Internal server error';
    let code: string | undefined;
    if (error instanceof DomainError) {
      code = error.code;
      status = statusByError.get(error.constructor) ?? 500;
      message = error.message;
      if (error instanceof RateLimitError) reply.header('retry-after', String(error.retryAfterSeconds));
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors: bad JSON, body too large, unsupported media type.
      status = error.statusCode;
      message = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'Request body is too large' : error.message;
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status, message }, 'request refused');
    if (reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    reply.status(status).send({ message, ...(code ? { code } : {}), requestId: request.id });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ message: `Route ${request.method} ${request.url.split('?')[0]} not found`, requestId: request.id });
  });
});
