import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { UserKeyService } from '../services/user-key-service.ts';
import { parseInput } from '../validation.ts';

const required = (kind: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? 'required' : `must be a ${kind}`) });
const keyName = z.string(required('string')).min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters');

const saveBody = z.object({
  name: keyName,
  // A key, or LibreChat's JSON string `{"apiKey","baseURL"}`. Never echoed in an error message.
  value: z.string(required('string')).min(1, 'must not be empty').max(10_000, 'must be at most 10000 characters'),
  // The client sends an ISO date, or null/nothing for "never expires".
  expiresAt: z
    .union([z.null(), z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date')], { error: 'must be a date or null' })
    .optional()
    .transform((value) => (value ? new Date(value) : undefined)),
});
const nameQuery = z.object({ name: keyName });
const nameParams = z.object({ name: keyName });
const deleteAllQuery = z.object({ all: z.string().optional() });

/**
 * LibreChat's `/api/keys`: the user's own keys for `user_provided` endpoints. Keys go in and never come out:
 * the only answer about one is its expiry.
 */
export async function keyRoutes(app: FastifyInstance, options: { userKeys: UserKeyService }) {
  const { userKeys } = options;
  app.addHook('preHandler', app.requireJwt);

  app.put('/', async (request, reply) => {
    const body = parseInput(saveBody, request.body);
    await userKeys.save(authenticatedUser(request).id, body);
    return reply.status(201).send();
  });

  app.get('/', async (request) => {
    const { name } = parseInput(nameQuery, request.query);
    return userKeys.expiry(authenticatedUser(request).id, name);
  });

  app.delete('/:name', async (request, reply) => {
    const { name } = parseInput(nameParams, request.params);
    await userKeys.remove(authenticatedUser(request).id, name);
    return reply.status(204).send();
  });

  app.delete('/', async (request, reply) => {
    const { all } = parseInput(deleteAllQuery, request.query);
    // LibreChat's answer, word for word: deleting every key must be asked for explicitly.
    if (all !== 'true') return reply.status(400).send({ error: 'Specify either all=true to delete.' });
    await userKeys.removeAll(authenticatedUser(request).id);
    return reply.status(204).send();
  });
}
