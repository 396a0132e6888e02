import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { AvatarService, StoredAvatar } from '../services/avatar-service.ts';
import { parseInput } from '../validation.ts';
import { receiveUpload } from './multipart-upload.ts';

const userAvatarFields = z.object({ manual: z.enum(['true', 'false'], { error: "manual: must be 'true' or 'false'" }).optional() });
const agentParams = z.object({ agent_id: z.string().min(1).max(128) });
const imageParams = z.object({ userId: z.string().max(64), name: z.string().max(200) });

export interface AvatarRouteOptions {
  avatars: AvatarService;
  uploadLimits: preHandlerAsyncHookHandler[];
}

const avatarMessages = { notMultipart: 'file: send the avatar as multipart/form-data in the field "file"', noFile: 'No file uploaded', failed: 'An error occurred while uploading the avatar' };

/**
 * `POST /api/files/images/avatar` and `/images/agents/:agent_id/avatar` (LIBRECHAT-API.md §4), registered by
 * api/routes/files.ts inside its multipart and JWT context.
 */
export function registerAvatarUploads(app: FastifyInstance, options: AvatarRouteOptions) {
  const { avatars } = options;

  // LibreChat: `{ url }` (the client puts it on the user as `avatar`).
  app.post('/images/avatar', { preHandler: options.uploadLimits }, async (request, reply) => {
    const user = authenticatedUser(request);
    return receiveUpload<StoredAvatar>(app, request, reply, {
      store: (part) => avatars.store(user.id, { kind: 'user' }, { stream: part.file, mimetype: part.mimetype, filename: part.filename }),
      use: async (stored, fields) => reply.send(await avatars.setUserAvatar(user.id, stored, parseInput(userAvatarFields, fields).manual !== 'false')),
      discard: (stored) => avatars.discard(stored),
      messages: avatarMessages,
    });
  });

  // LibreChat: 201 with the updated agent. The `avatar` field (the client's idea of the old avatar) is not
  // trusted: the old avatar is the agent's own.
  app.post('/images/agents/:agent_id/avatar', { preHandler: options.uploadLimits }, async (request, reply) => {
    const user = authenticatedUser(request);
    const { agent_id } = parseInput(agentParams, request.params);
    let previous: Awaited<ReturnType<AvatarService['checkAgent']>>;
    try {
      previous = await avatars.checkAgent(user, agent_id);
    } catch (error) {
      if (!request.raw.readableEnded) request.raw.resume();
      throw error;
    }
    return receiveUpload<StoredAvatar>(app, request, reply, {
      store: (part) => avatars.store(user.id, { kind: 'agent', agentId: agent_id }, { stream: part.file, mimetype: part.mimetype, filename: part.filename }),
      use: async (stored) => reply.status(201).send(await avatars.setAgentAvatar(user, agent_id, stored, previous.avatar)),
      discard: (stored) => avatars.discard(stored),
      messages: avatarMessages,
    });
  });
}

/**
 * `GET /images/:userId/:name`: where avatar URLs point (LibreChat serves its `/images` folder the same way, without
 * auth: an `<img>` sends no token). Only avatar names are served; each upload has a new name, so a response never
 * changes and may be cached for a year.
 */
export async function avatarImageRoutes(app: FastifyInstance, options: { avatars: AvatarService }) {
  app.get('/images/:userId/:name', async (request, reply) => {
    const { userId, name } = parseInput(imageParams, request.params);
    const { body, size, type } = await options.avatars.open(`/images/${userId}/${name}`);
    reply.header('content-type', type);
    reply.header('content-length', String(size));
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', "default-src 'none'");
    return reply.send(body);
  });
}
