import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../shared/errors.ts';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { PresetService } from '../services/preset-service.ts';
import { parseInput } from '../validation.ts';

/** A preset holds a conversation's parameters (a system prompt among them), not its messages. */
export const MAX_PRESET_BYTES = 32 * 1024;

/**
 * The fields the server gives meaning to are checked; the rest of the client's parameters are kept as sent
 * (LibreChat's presets carry every endpoint's settings), within a size bound; operator keys never get this
 * far (api/plugins/security.ts refuses them for every route).
 */
const presetBody = z
  .looseObject({
    presetId: idSchema.nullish(),
    title: z.string({ error: 'must be a string' }).max(200, 'must be at most 200 characters').nullish(),
    defaultPreset: z.boolean({ error: 'must be a boolean' }).optional(),
    order: z.number({ error: 'must be a number' }).int('must be a whole number').min(0).max(100_000).optional(),
    endpoint: z.string({ error: 'must be a string' }).max(128).nullish(),
    model: z.string({ error: 'must be a string' }).max(256).nullish(),
  })
  .transform(({ presetId, ...preset }) => {
    // Server-owned fields are never taken from the client (LibreChat drops `user` too).
    const { _id, __v, user, createdAt, updatedAt, newPresetId, ...rest } = preset as Record<string, unknown>;
    // LibreChat keeps plugin tools by key: the client may send the plugin objects.
    if (Array.isArray(rest.tools)) {
      rest.tools = rest.tools.map((tool) => (tool as { pluginKey?: unknown } | null)?.pluginKey ?? tool).filter((tool) => typeof tool === 'string');
    }
    return { ...rest, ...(presetId ? { presetId } : {}) };
  });
const deleteBody = z.object({ presetId: idSchema.nullish() });

/** Presets, as LibreChat's `/api/presets`: the list, save (create or update by `presetId`) and delete. */
export async function presetRoutes(app: FastifyInstance, options: { presets: PresetService }) {
  const { presets } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/', async (request) => presets.list(authenticatedUser(request).id));

  app.post('/', async (request, reply) => {
    if (Buffer.byteLength(JSON.stringify(request.body ?? {})) > MAX_PRESET_BYTES) {
      throw new ValidationError(`preset is too large (at most ${MAX_PRESET_BYTES / 1024} KB)`);
    }
    const preset = parseInput(presetBody, request.body);
    // LibreChat answers a saved preset with 201.
    return reply.status(201).send(await presets.save(authenticatedUser(request).id, preset));
  });

  // Without a presetId, LibreChat deletes all of the user's presets (the client's "clear all").
  app.post('/delete', async (request, reply) => {
    const { presetId } = parseInput(deleteBody, request.body);
    return reply.status(201).send(await presets.remove(authenticatedUser(request).id, presetId ?? undefined));
  });
}
