import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { ForbiddenError, NotFoundError, UnavailableError } from '../../shared/errors.ts';
import { SystemRoles } from '../../shared/models/user.ts';
import { searchReindexProgressOf, startSearchReindex } from '../../shared/search-indexer-client.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { SearchService } from '../services/search-service.ts';

/**
 * `GET /api/search/enable` (LibreChat's: true when an engine is configured and answers) and the admin's
 * full reindex (`POST /api/admin/search/reindex` starts it, or finds the one running; `GET` the same path
 * reads its progress). The searches themselves are branches of `GET /api/convos` and `GET /api/messages`.
 */
export async function searchRoutes(app: FastifyInstance, options: { search: SearchService; temporal: Client; searchTaskQueue: string }) {
  const { search, temporal, searchTaskQueue } = options;
  const auth = { preHandler: app.requireJwt };

  app.get('/api/search/enable', auth, async () => search.enabled());

  function requireAdmin(request: Parameters<typeof authenticatedUser>[0]) {
    if (authenticatedUser(request).role !== SystemRoles.ADMIN) throw new ForbiddenError('Only administrators can reindex search');
    if (!search.configured) throw new NotFoundError('Search is not enabled on this server');
  }

  app.post('/api/admin/search/reindex', auth, async (request, reply) => {
    requireAdmin(request);
    try {
      const started = await startSearchReindex(temporal, searchTaskQueue);
      return reply.code(started.started ? 202 : 200).send(started);
    } catch (error) {
      request.log.warn({ err: error }, 'could not start the search reindex');
      throw new UnavailableError('Temporal is unavailable: the reindex was not started; try again shortly');
    }
  });

  app.get('/api/admin/search/reindex', auth, async (request) => {
    requireAdmin(request);
    const progress = await searchReindexProgressOf(temporal, searchTaskQueue);
    if (!progress) throw new NotFoundError('No reindex has run');
    return progress;
  });
}
