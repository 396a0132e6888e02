import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import { MAX_FAVORITES, type FavoritesService } from '../services/favorites-service.ts';
import { parseInput } from '../validation.ts';

const favoriteText = z.string().min(1, 'must be 1 to 256 characters').max(256, 'must be 1 to 256 characters');
const favoriteSchema = z.union(
  [z.strictObject({ agentId: favoriteText }), z.strictObject({ model: favoriteText, endpoint: favoriteText }), z.strictObject({ spec: favoriteText })],
  { error: 'must be exactly one of {agentId}, {model, endpoint} or {spec}, each a string of 1 to 256 characters' },
);
const favoritesBody = z.object({
  favorites: z.array(favoriteSchema, { error: (issue) => (issue.input === undefined ? 'required' : 'must be an array') }),
});
const toolParams = z.object({ toolId: z.string().max(128) });

/**
 * The rest of what LibreChat's web clients call at load and in their menus. Favorites and the token config
 * are real; every other route answers exactly as LibreChat's server does with the feature off or empty, so
 * the client shows no error, and its comment names the issue that replaces it with the feature.
 */
export async function clientDefaultsRoutes(app: FastifyInstance, options: { endpoints: EndpointsConfig; favorites: FavoritesService }) {
  const { endpoints, favorites } = options;
  const auth = { preHandler: app.requireJwt };

  // Public in LibreChat (a public banner shows on the login page). durachat configures no banner, and
  // LibreChat's "no banner" is `send(null)`: a 200 with an empty body.
  app.get('/api/banner', async (_request, reply) => reply.send());

  app.get('/api/user/settings/favorites', auth, async (request) => favorites.list(authenticatedUser(request).id));

  app.post('/api/user/settings/favorites', auth, async (request, reply) => {
    const requested = (request.body as { favorites?: unknown } | undefined)?.favorites;
    if (Array.isArray(requested) && requested.length > MAX_FAVORITES) {
      // LibreChat's shape: the client reads `code` and `limit` to tell the user how many are allowed.
      return reply.status(400).send({ code: 'MAX_FAVORITES_EXCEEDED', message: `Maximum ${MAX_FAVORITES} favorites allowed`, limit: MAX_FAVORITES });
    }
    const body = parseInput(favoritesBody, request.body);
    return favorites.replace(authenticatedUser(request).id, body.favorites);
  });

  // LibreChat's context window per model (prices only with `interface.contextCost`, which durachat lacks).
  app.get('/api/endpoints/token-config', auth, async () =>
    Object.fromEntries(
      endpoints.endpoints
        .filter((endpoint) => endpoint.models.length > 0)
        .map((endpoint) => [endpoint.name, Object.fromEntries(endpoint.models.map((model) => [model, { context: endpoint.maxContextTokens }]))]),
    ),
  );

  // No chat projects yet (no issue covers them): LibreChat's empty first page.
  app.get('/api/projects', auth, async () => ({ projects: [], nextCursor: null }));

  // Files (GET /api/files, /api/files/config): api/routes/files.ts.

  // No speech config: LibreChat's flags for "no external STT or TTS" (the browser's own speech is used).
  app.get('/api/files/speech/config/get', auth, async () => ({ sttExternal: false, ttsExternal: false }));

  // Search: api/routes/search.ts.

  // Tool calls made from the client (LibreChat's code-interpreter re-runs): none are kept yet. The tool
  // list and each tool's auth are api/routes/agent-tools.ts.
  app.get('/api/agents/tools/calls', auth, async () => []);

  // Steering a running reply (no issue covers it yet). The newest client queues the message on this code
  // and sends it when the run ends. Static paths win over chat.ts's POST /api/agents/chat/:endpoint.
  for (const path of ['/api/agents/chat/steer', '/api/agents/chat/steer/cancel', '/api/agents/chat/steer/arm']) {
    app.post(path, auth, async (_request, reply) =>
      reply.status(501).send({ code: 'STEER_UNSUPPORTED', message: 'Steering a running reply is not supported; send the message when the reply ends.' }),
    );
  }
}
