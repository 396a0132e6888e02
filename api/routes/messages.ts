import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MAX_MESSAGE_TEXT_LENGTH, idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { MessageService } from '../services/message-service.ts';
import { parseInput } from '../validation.ts';

const conversationParams = z.object({ conversationId: idSchema });
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

export async function messageRoutes(app: FastifyInstance, options: { messages: MessageService }) {
  const { messages } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/:conversationId', async (request) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    return messages.list(authenticatedUser(request).id, conversationId);
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
