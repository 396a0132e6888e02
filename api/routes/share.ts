import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { RateLimitPreset } from '../plugins/rate-limit.ts';
import type { ShareService } from '../services/share-service.ts';
import { parseInput } from '../validation.ts';

/** LibreChat reads these leniently (a bad `pageSize` becomes 10); durachat refuses them with a 400 instead. */
const listQuery = z.object({
  cursor: z.string().max(512).optional(),
  pageSize: z.coerce.number().int().min(1).max(100).default(10),
  sortBy: z.enum(['createdAt', 'title']).default('createdAt'),
  sortDirection: z.enum(['asc', 'desc']).default('desc'),
  search: z.string().trim().max(200).optional(),
  // Every durachat link is public; the flag is accepted for LibreChat's older clients and ignored.
  isPublic: z.string().max(10).optional(),
});
const conversationParams = z.object({ conversationId: idSchema });
const shareParams = z.object({ shareId: idSchema });
/** `snapshotFiles` is the newest client's; durachat has no files yet (issue 11), so it is accepted and ignored. */
const linkBody = z.object({ targetMessageId: idSchema.nullish(), snapshotFiles: z.boolean().optional() });

/** The public view answers anyone: a per-IP budget keeps it from being a free way to load the database. */
export const publicShareLimit: RateLimitPreset = {
  name: 'share-public',
  max: 300,
  windowMinutes: 1,
  message: 'Too many shared link requests, please try again in a minute.',
};

/**
 * Share links, as LibreChat's `/api/share`. `GET /:shareId` is public (LibreChat's default with
 * `ALLOW_SHARED_LINKS_PUBLIC` unset); every other route is the owner's, and another user's link is a 404.
 */
export async function shareRoutes(
  app: FastifyInstance,
  options: { shares: ShareService; config: Pick<Config, 'APP_TITLE'>; endpoints: Pick<EndpointsConfig, 'interface'>; publicLimit: preHandlerAsyncHookHandler },
) {
  const { shares, config, endpoints } = options;
  const publicRoute = { preHandler: options.publicLimit };
  const auth = { preHandler: app.requireJwt };

  app.get('/', auth, async (request) => shares.list(authenticatedUser(request).id, parseInput(listQuery, request.query)));

  app.get('/link/:conversationId', auth, async (request) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    return shares.getForConversation(authenticatedUser(request).id, conversationId);
  });

  app.get('/:shareId', publicRoute, async (request) => {
    const { shareId } = parseInput(shareParams, request.params);
    return shares.getPublic(shareId);
  });

  // The newest client's share page loads this instead of /api/config (`TSharedLinkStartupConfig`): only what
  // the page shows, and only for a link that exists.
  app.get('/:shareId/config', publicRoute, async (request) => {
    const { shareId } = parseInput(shareParams, request.params);
    await shares.requirePublic(shareId);
    const { privacyPolicy, termsOfService } = endpoints.interface;
    return { appTitle: config.APP_TITLE, interface: { ...(privacyPolicy ? { privacyPolicy } : {}), ...(termsOfService ? { termsOfService } : {}) } };
  });

  app.post('/:conversationId', auth, async (request) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    const { targetMessageId } = parseInput(linkBody, request.body);
    return shares.create(authenticatedUser(request).id, conversationId, targetMessageId ?? undefined);
  });

  app.patch('/:shareId', auth, async (request) => {
    const { shareId } = parseInput(shareParams, request.params);
    const { targetMessageId } = parseInput(linkBody, request.body);
    return shares.refresh(authenticatedUser(request).id, shareId, targetMessageId ?? undefined);
  });

  app.delete('/:shareId', auth, async (request) => {
    const { shareId } = parseInput(shareParams, request.params);
    return shares.remove(authenticatedUser(request).id, shareId);
  });
}
