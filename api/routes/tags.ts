import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { TagService } from '../services/tag-service.ts';
import { parseInput } from '../validation.ts';

/** The bounds LibreChat's bookmark form enforces (128 and 1048 characters). */
export const MAX_TAG_LENGTH = 128;
const tagName = z
  .string({ error: (issue) => (issue.input === undefined ? 'required' : 'must be a string') })
  .trim()
  .min(1, `must be 1 to ${MAX_TAG_LENGTH} characters`)
  .max(MAX_TAG_LENGTH, `must be 1 to ${MAX_TAG_LENGTH} characters`);
const description = z.string({ error: 'must be a string' }).max(1048, 'must be at most 1048 characters');

const createBody = z.object({
  tag: tagName,
  description: description.optional(),
  addToConversation: z.boolean({ error: 'must be a boolean' }).optional(),
  // The client's form sends '' when it is not opened from a conversation.
  conversationId: z.union([idSchema, z.literal('')]).optional(),
});
const updateBody = z
  .object({
    tag: tagName.optional(),
    description: description.optional(),
    position: z.number({ error: 'must be a number' }).int('must be a whole number').min(0).max(10_000).optional(),
  })
  .refine((body) => body.tag !== undefined || body.description !== undefined || body.position !== undefined, 'nothing to update');
const tagParams = z.object({ tag: tagName });
const conversationParams = z.object({ conversationId: idSchema });
const conversationTagsBody = z.object({
  tags: z.array(tagName, { error: (issue) => (issue.input === undefined ? 'required' : 'must be an array') }).max(50, 'at most 50 tags per conversation'),
});

/** Bookmarks, as LibreChat's `/api/tags`: the list, create, rename/describe/move, delete, and a conversation's tags. */
export async function tagRoutes(app: FastifyInstance, options: { tags: TagService }) {
  const { tags } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/', async (request) => tags.list(authenticatedUser(request).id));

  app.post('/', async (request) => tags.create(authenticatedUser(request).id, parseInput(createBody, request.body)));

  app.put('/convo/:conversationId', async (request) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    const body = parseInput(conversationTagsBody, request.body);
    return tags.setForConversation(authenticatedUser(request).id, conversationId, body.tags);
  });

  app.put('/:tag', async (request) => {
    const { tag } = parseInput(tagParams, request.params);
    return tags.update(authenticatedUser(request).id, tag, parseInput(updateBody, request.body));
  });

  app.delete('/:tag', async (request) => {
    const { tag } = parseInput(tagParams, request.params);
    return tags.remove(authenticatedUser(request).id, tag);
  });
}
