import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PROMPT_COMMAND_MAX_LENGTH } from '../../shared/models/index.ts';
import { MAX_MESSAGE_TEXT_LENGTH } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { PromptService } from '../services/prompt-service.ts';
import { parseInput } from '../validation.ts';

const objectIdText = z.string().max(64);
const promptText = z.string().max(MAX_MESSAGE_TEXT_LENGTH).refine((text) => text.trim().length > 0, 'must not be empty');
const promptBody = z.object({ prompt: promptText, type: z.enum(['text', 'chat']) });
const command = z
  .string()
  .max(PROMPT_COMMAND_MAX_LENGTH)
  .regex(/^[a-z0-9-]*$/, 'must only contain lowercase letters, digits and hyphens');
const groupFields = {
  name: z.string().trim().min(1).max(255),
  category: z.string().max(100).optional(),
  oneliner: z.string().max(500).optional(),
  command: command.optional(),
};

/** LibreChat's client creates a group with its first version; older clients add a version with `prompt.groupId`. */
const createBody = z.union(
  [
    z.object({ prompt: promptBody, group: z.object(groupFields) }),
    z.object({ prompt: promptBody.extend({ groupId: objectIdText }) }),
  ],
  { error: 'must be {prompt: {prompt, type}, group: {name, ...}} or {prompt: {prompt, type, groupId}}' },
);
const addBody = z.object({ prompt: promptBody });
/** LibreChat's updatePromptGroupSchema: only these fields, nothing else. */
const updateBody = z
  .strictObject({
    name: groupFields.name.optional(),
    oneliner: groupFields.oneliner,
    category: groupFields.category,
    command: command.nullable().optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), 'nothing to update');

const filterFields = { name: z.string().max(200).optional(), category: z.string().max(100).optional() };
/** The client sends `limit`; LibreChat also reads `pageSize` when `limit` is absent. */
const groupsQuery = z.object({
  ...filterFields,
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
  // The client sends the strings 'undefined'/'null' for "first page", as LibreChat tolerates.
  cursor: z
    .string()
    .max(512)
    .optional()
    .transform((cursor) => (cursor && cursor !== 'undefined' && cursor !== 'null' ? cursor : undefined)),
});
const promptsQuery = z.object({ groupId: objectIdText.optional() });
const deleteQuery = z.object({ groupId: objectIdText.optional() });
const groupParams = z.object({ groupId: objectIdText });
const promptParams = z.object({ promptId: objectIdText });

/** `/api/prompts`: prompt groups and their versions, as LibreChat's server answers them. */
export async function promptRoutes(app: FastifyInstance, options: { prompts: PromptService }) {
  const { prompts } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/groups', async (request) => {
    const query = parseInput(groupsQuery, request.query);
    return prompts.listGroups(authenticatedUser(request).id, { ...query, pageSize: query.limit ?? query.pageSize ?? 10 });
  });

  app.get('/all', async (request) => prompts.listAllGroups(authenticatedUser(request).id, parseInput(z.object(filterFields), request.query)));

  app.get('/groups/:groupId', async (request) => {
    const { groupId } = parseInput(groupParams, request.params);
    return prompts.getGroup(authenticatedUser(request).id, groupId);
  });

  app.post('/', async (request) => {
    const body = parseInput(createBody, request.body);
    const user = authenticatedUser(request);
    const name = (user as { name?: unknown }).name;
    if ('group' in body) return prompts.createGroup({ id: user.id, name: typeof name === 'string' ? name : undefined }, body.prompt, body.group);
    const { groupId, ...prompt } = body.prompt;
    return prompts.addPrompt(user.id, groupId, prompt);
  });

  app.post('/groups/:groupId/prompts', async (request) => {
    const { groupId } = parseInput(groupParams, request.params);
    const { prompt } = parseInput(addBody, request.body);
    return prompts.addPrompt(authenticatedUser(request).id, groupId, prompt);
  });

  app.post('/groups/:groupId/use', async (request) => {
    const { groupId } = parseInput(groupParams, request.params);
    return prompts.recordUse(authenticatedUser(request).id, groupId);
  });

  app.patch('/groups/:groupId', async (request) => {
    const { groupId } = parseInput(groupParams, request.params);
    return prompts.updateGroup(authenticatedUser(request).id, groupId, parseInput(updateBody, request.body));
  });

  app.patch('/:promptId/tags/production', async (request) => {
    const { promptId } = parseInput(promptParams, request.params);
    return prompts.makeProduction(authenticatedUser(request).id, promptId);
  });

  app.get('/', async (request) => {
    const { groupId } = parseInput(promptsQuery, request.query);
    return prompts.listPrompts(authenticatedUser(request).id, groupId);
  });

  app.get('/:promptId', async (request) => {
    const { promptId } = parseInput(promptParams, request.params);
    return prompts.getPrompt(authenticatedUser(request).id, promptId);
  });

  app.delete('/:promptId', async (request) => {
    const { promptId } = parseInput(promptParams, request.params);
    const { groupId } = parseInput(deleteQuery, request.query);
    return prompts.deletePrompt(authenticatedUser(request).id, promptId, groupId);
  });

  app.delete('/groups/:groupId', async (request) => {
    const { groupId } = parseInput(groupParams, request.params);
    return prompts.deleteGroup(authenticatedUser(request).id, groupId);
  });
}

/** LibreChat's fixed prompt categories (labels are client locale keys). */
const promptCategories = [
  { label: 'com_ui_idea', value: 'idea' },
  { label: 'com_ui_travel', value: 'travel' },
  { label: 'com_ui_teach_or_explain', value: 'teach_or_explain' },
  { label: 'com_ui_write', value: 'write' },
  { label: 'com_ui_shop', value: 'shop' },
  { label: 'com_ui_code', value: 'code' },
  { label: 'com_ui_misc', value: 'misc' },
  { label: 'com_ui_roleplay', value: 'roleplay' },
  { label: 'com_ui_finance', value: 'finance' },
];

/** `/api/categories`. */
export async function promptCategoryRoutes(app: FastifyInstance) {
  app.get('/api/categories', { preHandler: app.requireJwt }, async () => promptCategories);
}
