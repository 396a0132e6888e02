import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ForbiddenError, NotFoundError } from '../../shared/errors.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import { AgentVersionConflictError, type AgentService, type AgentUser } from '../services/agent-service.ts';
import { parseInput } from '../validation.ts';

/** Bounds: LibreChat's zod (`papi/agents/validation.ts`) has none; these keep one document well under MongoDB's 16 MB with its version history. */
const MAX_INSTRUCTIONS = 100_000;
const MAX_PARAMETERS_BYTES = 16 * 1024;

const text = (max: number) => z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`);
const stringList = (maxItems: number, maxLength: number) => z.array(text(maxLength), { error: 'must be an array of strings' }).max(maxItems, `must have at most ${maxItems} entries`);
const resource = z.object({ file_ids: stringList(1000, 128).optional(), vector_store_ids: stringList(100, 128).optional() });

/**
 * LibreChat's agentBaseSchema. Unknown fields are dropped, not refused, so a newer client's extra fields
 * (edges, skills, ...) do not break saving; server-owned fields (id, author, versions, is_promoted) never
 * come from the client.
 */
const baseFields = {
  name: text(256).nullable().optional(),
  description: text(10_000).nullable().optional(),
  instructions: text(MAX_INSTRUCTIONS).nullable().optional(),
  avatar: z.object({ filepath: text(2048), source: text(64) }).nullable().optional(),
  model_parameters: z
    .record(z.string(), z.unknown(), { error: 'must be an object' })
    .refine((value) => JSON.stringify(value).length <= MAX_PARAMETERS_BYTES, `must be at most ${MAX_PARAMETERS_BYTES} bytes as JSON`)
    .optional(),
  tools: stringList(100, 256).optional(),
  agent_ids: stringList(20, 64).optional(),
  end_after_tools: z.boolean({ error: 'must be a boolean' }).optional(),
  hide_sequential_outputs: z.boolean({ error: 'must be a boolean' }).optional(),
  artifacts: text(32).optional(),
  recursion_limit: z.number({ error: 'must be a number' }).int('must be a whole number').min(1).max(1000).optional(),
  conversation_starters: stringList(20, 2000).optional(),
  tool_resources: z
    .object({ image_edit: resource, execute_code: resource, file_search: resource, context: resource, ocr: resource })
    .partial()
    .optional(),
  support_contact: z.object({ name: text(256).optional(), email: z.union([z.literal(''), z.email({ error: 'must be an email address' })]).optional() }).optional(),
  category: text(100).trim().optional(),
};
const provider = text(128).trim().min(1, 'is required');
const model = text(256).trim().min(1, 'is required');
const createBody = z.object({ ...baseFields, provider: z.string({ error: 'is required' }).pipe(provider), model: z.string({ error: 'is required' }).pipe(model) });
const updateBody = z.object({
  ...baseFields,
  provider: provider.optional(),
  model: model.optional(),
  projectIds: stringList(100, 64).optional(),
  removeProjectIds: stringList(100, 64).optional(),
  isCollaborative: z.boolean({ error: 'must be a boolean' }).optional(),
});

/** The client's `URLSearchParams` turns an unset option into the text 'undefined'. */
const absent = (value: unknown) => (value === undefined || value === '' || value === 'undefined' || value === 'null' ? undefined : value);
const optionalQuery = <Schema extends z.ZodType>(schema: Schema) => z.preprocess(absent, schema.optional());
/** LibreChat clamps `limit` to 1..100 (20 when unreadable) and reads `requiredPermission` with parseInt (1 when unreadable). */
const listQuery = z.object({
  category: optionalQuery(text(100)),
  search: optionalQuery(text(200)),
  promoted: optionalQuery(z.enum(['0', '1'], { error: 'must be 0 or 1' })),
  limit: optionalQuery(z.unknown()).transform((value) => {
    if (value === undefined) return undefined;
    const limit = Number.parseInt(String(value), 10);
    return Number.isFinite(limit) ? Math.min(100, Math.max(1, limit)) : 20;
  }),
  cursor: optionalQuery(text(512)),
  requiredPermission: optionalQuery(z.unknown()).transform((value) => {
    const bits = Number.parseInt(String(value ?? ''), 10);
    return Number.isFinite(bits) && bits >= 1 && bits <= 15 ? bits : 1;
  }),
});
const idParams = z.object({ id: text(128) });
const revertBody = z.object({
  version_index: z.number({ error: 'is required (a version number)' }).int('must be a whole number').min(0, 'must not be negative'),
});

function agentUser(request: Parameters<typeof authenticatedUser>[0]): AgentUser {
  const user = authenticatedUser(request);
  const name = (user as { name?: unknown }).name;
  return { id: user.id, role: user.role, name: typeof name === 'string' ? name : undefined };
}

/**
 * `/api/agents` (LIBRECHAT-API.md §1). `/categories` is a static segment, so it wins over `/:id`; so do
 * `/chat/...` and `/tools...`, which other plugins register under the same prefix (find-my-way prefers
 * static segments whatever the registration order). The avatar upload is the files routes' job.
 */
export async function agentRoutes(app: FastifyInstance, options: { agents: AgentService }) {
  const { agents } = options;
  app.addHook('preHandler', app.requireJwt);

  // LibreChat's bodies for these answers: 409 `{error, details}`, ACL `{error, message}`. Everything else
  // goes on to the app's error handler (an error thrown here is handled by the parent context's).
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AgentVersionConflictError) return reply.status(409).send({ error: error.message, details: error.details });
    if (error instanceof NotFoundError) return reply.status(404).send({ error: 'Not Found', message: error.message, requestId: request.id });
    if (error instanceof ForbiddenError) return reply.status(403).send({ error: 'Forbidden', message: error.message, requestId: request.id });
    throw error;
  });

  app.get('/', async (request) => agents.list(agentUser(request), parseInput(listQuery, request.query)));

  app.get('/categories', async (request) => agents.categories(agentUser(request)));

  app.post('/', async (request, reply) => {
    const created = await agents.create(agentUser(request), parseInput(createBody, request.body));
    return reply.status(201).send(created);
  });

  app.get('/:id', async (request) => agents.get(agentUser(request), parseInput(idParams, request.params).id));

  app.get('/:id/expanded', async (request) => agents.getExpanded(agentUser(request), parseInput(idParams, request.params).id));

  app.patch('/:id', async (request) => agents.update(agentUser(request), parseInput(idParams, request.params).id, parseInput(updateBody, request.body)));

  app.post('/:id/duplicate', async (request, reply) => {
    const duplicated = await agents.duplicate(agentUser(request), parseInput(idParams, request.params).id);
    return reply.status(201).send(duplicated);
  });

  app.delete('/:id', async (request) => agents.remove(agentUser(request), parseInput(idParams, request.params).id));

  app.post('/:id/revert', async (request) => {
    const { id } = parseInput(idParams, request.params);
    return agents.revert(agentUser(request), id, parseInput(revertBody, request.body).version_index);
  });
}
