import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { ConversationService } from '../services/conversation-service.ts';
import type { SearchService } from '../services/search-service.ts';
import { parseInput } from '../validation.ts';

const listQuery = z.object({
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  isArchived: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  tags: z.union([z.string().max(128), z.array(z.string().max(128)).max(20)]).optional().transform((value) => (value === undefined ? undefined : [value].flat())),
  /** Blank means no search (LibreChat's `if (search)`); else the search index answers (api/services/search-service.ts). */
  search: z.string().max(200).optional().transform((value) => value?.trim() || undefined),
  order: z.enum(['asc', 'desc']).default('desc'),
});

const updateBody = z.object({
  arg: z
    .object({
      conversationId: idSchema,
      title: z.string().trim().min(1).max(200).optional(),
      isArchived: z.boolean().optional(),
      tags: z.array(z.string().max(128)).max(50).optional(),
    })
    .refine((arg) => arg.title !== undefined || arg.isArchived !== undefined || arg.tags !== undefined, 'nothing to update'),
});

const archiveBody = z.object({ arg: z.object({ conversationId: idSchema, isArchived: z.boolean() }) });
const deleteBody = z.object({ arg: z.object({ conversationId: idSchema }) });
const idParams = z.object({ conversationId: idSchema });

export async function convoRoutes(app: FastifyInstance, options: { conversations: ConversationService; search: SearchService }) {
  const { conversations, search } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/', async (request) => {
    const { search: text, ...query } = parseInput(listQuery, request.query);
    const userId = authenticatedUser(request).id;
    // The engine's cursor is its own (rank order), not the list's (updatedAt order); `order` does not apply.
    if (text !== undefined) return search.conversations(userId, { search: text, limit: query.limit, cursor: query.cursor, isArchived: query.isArchived, tags: query.tags });
    return conversations.list(userId, query);
  });

  app.delete('/all', async (request) => conversations.removeAll(authenticatedUser(request).id));

  app.get('/:conversationId', async (request) => {
    const { conversationId } = parseInput(idParams, request.params);
    return conversations.get(authenticatedUser(request).id, conversationId);
  });

  app.post('/update', async (request) => {
    const { arg } = parseInput(updateBody, request.body);
    const { conversationId, ...changes } = arg;
    return conversations.update(authenticatedUser(request).id, conversationId, changes);
  });

  // Newer clients archive through their own route; same effect as `update` with `isArchived`.
  app.post('/archive', async (request) => {
    const { arg } = parseInput(archiveBody, request.body);
    return conversations.update(authenticatedUser(request).id, arg.conversationId, { isArchived: arg.isArchived });
  });

  app.delete('/', async (request) => {
    const { arg } = parseInput(deleteBody, request.body);
    return conversations.remove(authenticatedUser(request).id, [arg.conversationId]);
  });
}
