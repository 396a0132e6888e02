import type { FastifyInstance } from 'fastify';

/**
 * LibreChat's client sends body-less PATCH and POST requests (e.g. `makePromptProduction`,
 * `recordPromptGroupUsage`) with `Content-Type: application/json` and an empty body, which Express accepts
 * and Fastify's JSON parser refuses with 400. Registered once for the whole app (api/app.ts): an empty JSON
 * body parses as no body (each route's own validation still refuses it where a body is required); anything
 * else goes through Fastify's own parser (prototype-poisoning checks included).
 */
export function acceptEmptyJsonBodies(app: FastifyInstance) {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') return done(null, undefined);
    return parseJson(request, text, done);
  });
}
