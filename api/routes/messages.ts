import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../shared/errors.ts';
import { MAX_MESSAGE_TEXT_LENGTH, idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import { MESSAGES_PAGE_MAX, type MessageService } from '../services/message-service.ts';
import type { SearchService } from '../services/search-service.ts';
import { parseInput } from '../validation.ts';

const conversationParams = z.object({ conversationId: idSchema });
const cursorSchema = z.string().min(1).max(512);
/** The rc1 client sends no query: it gets the newest MESSAGES_PAGE_MAX, and `x-next-cursor` if older ones exist. */
const threadQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MESSAGES_PAGE_MAX).default(MESSAGES_PAGE_MAX),
  cursor: cursorSchema.optional(),
});
/** LibreChat's `GET /api/messages?conversationId=&cursor=&pageSize=` (newest first by default). */
const listQuery = z.object({
  conversationId: idSchema.optional(),
  messageId: idSchema.optional(),
  cursor: cursorSchema.optional(),
  pageSize: z.coerce.number().int().min(1).max(500).default(25),
  sortBy: z.literal('createdAt').default('createdAt'),
  sortDirection: z.enum(['asc', 'desc']).default('desc'),
  /** Blank means no search; else the search index answers (api/services/search-service.ts), `pageSize` at most 100. */
  search: z.string().max(500).optional().transform((value) => value?.trim() || undefined),
});
const SEARCH_PAGE_MAX = 100;
const messageParams = z.object({ conversationId: idSchema, messageId: idSchema });
const editBody = z.object({ text: z.string().max(MAX_MESSAGE_TEXT_LENGTH), index: z.number().int().min(0).max(1000).optional() });
const feedbackBody = z.object({
  feedback: z
    .object({
      rating: z.enum(['thumbsUp', 'thumbsDown']),
      tag: z.union([z.string().max(100), z.object({ key: z.string().max(100) }).loose()]).optional(),
      text: z.string().max(2000).optional(),
    })
    .nullable(),
});

export async function messageRoutes(app: FastifyInstance, options: { messages: MessageService; search: SearchService }) {
  const { messages, search } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/', async (request) => {
    const query = parseInput(listQuery, request.query);
    const userId = authenticatedUser(request).id;
    // Message search is the search index's (400 when none is configured), never a scan of every message here.
    if (query.search !== undefined) return search.messages(userId, { search: query.search, limit: Math.min(query.pageSize, SEARCH_PAGE_MAX), cursor: query.cursor });
    if (!query.conversationId) throw new ValidationError('conversationId: required');
    if (query.messageId) {
      const message = await messages.get(userId, query.conversationId, query.messageId);
      return { messages: message ? [message] : [], nextCursor: null };
    }
    return messages.page(userId, query.conversationId, { limit: query.pageSize, cursor: query.cursor, direction: query.sortDirection });
  });

  /**
   * A flat array in ascending createdAt order (the client builds the tree from it): the newest `limit`
   * messages older than `cursor`. `x-next-cursor` points at the older rest, so pages read newest to
   * oldest and together hold every message once.
   */
  app.get('/:conversationId', async (request, reply) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    const { limit, cursor } = parseInput(threadQuery, request.query);
    const page = await messages.page(authenticatedUser(request).id, conversationId, { limit, cursor, direction: 'desc' });
    if (page.nextCursor) reply.header('x-next-cursor', page.nextCursor);
    return page.messages.reverse();
  });

  app.put('/:conversationId/:messageId', async (request) => {
    const { conversationId, messageId } = parseInput(messageParams, request.params);
    const { text, index } = parseInput(editBody, request.body);
    return messages.editText(authenticatedUser(request).id, conversationId, messageId, text, index);
  });

  app.put('/:conversationId/:messageId/feedback', async (request) => {
    const { conversationId, messageId } = parseInput(messageParams, request.params);
    const { feedback } = parseInput(feedbackBody, request.body);
    return messages.setFeedback(authenticatedUser(request).id, conversationId, messageId, feedback);
  });

  app.delete('/:conversationId/:messageId', async (request) => {
    const { conversationId, messageId } = parseInput(messageParams, request.params);
    return messages.remove(authenticatedUser(request).id, conversationId, messageId);
  });
}
