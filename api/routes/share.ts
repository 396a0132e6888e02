import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
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

/**
 * Share links, as LibreChat's `/api/share`. `GET /:shareId` is public (LibreChat's default with
 * `ALLOW_SHARED_LINKS_PUBLIC` unset); every other route is the owner's, and another user's link is a 404.
 */
export async function shareRoutes(app: FastifyInstance, options: { shares: ShareService }) {
  const { shares } = options;
  const auth = { preHandler: app.requireJwt };

  app.get('/', auth, async (request) => shares.list(authenticatedUser(request).id, parseInput(listQuery, request.query)));

  app.get('/link/:conversationId', auth, async (request) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    return shares.getForConversation(authenticatedUser(request).id, conversationId);
  });

  app.get('/:shareId', async (request) => {
    const { shareId } = parseInput(shareParams, request.params);
    return shares.getPublic(shareId);
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
