import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { ConversationService } from '../services/conversation-service.ts';
import { parseInput } from '../validation.ts';

const conversationParams = z.object({ conversationId: idSchema });
const titleBody = z.object({ conversationId: idSchema });
const TITLE_WAIT_MS = 10_000;

/** `gen_title`: the title a new conversation's run generated (on the background queue). */
export async function titleRoutes(app: FastifyInstance, options: { redis: Redis; keys: RedisKeys; conversations: ConversationService }) {
  const { redis, keys, conversations } = options;

  /** The title the run generated (new conversations); waits briefly, as the client asks right after `final`. */
  async function generatedTitle(userId: string, conversationId: string) {
    const conversation = await conversations.requireOwned(userId, conversationId);
    const deadline = Date.now() + TITLE_WAIT_MS;
    while (Date.now() < deadline) {
      const title = await redis.get(keys.generatedTitle(userId, conversationId));
      if (title) return { title };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const latest = await conversations.requireOwned(userId, conversationId);
    if (latest.title && latest.title !== 'New Chat') return { title: latest.title };
    throw new NotFoundError(`Title not found for conversation ${conversation.conversationId}`);
  }

  app.get('/convos/gen_title/:conversationId', { preHandler: app.requireJwt }, async (request) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    return generatedTitle(authenticatedUser(request).id, conversationId);
  });
  app.post('/convos/gen_title', { preHandler: app.requireJwt }, async (request) => {
    const { conversationId } = parseInput(titleBody, request.body);
    return generatedTitle(authenticatedUser(request).id, conversationId);
  });

}
