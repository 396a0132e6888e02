import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { DomainError, ValidationError } from '../../shared/errors.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { AvatarService, StoredAvatar } from '../services/avatar-service.ts';
import { UploadTooLargeError } from '../services/file-service.ts';
import { parseInput } from '../validation.ts';

const userAvatarFields = z.object({ manual: z.enum(['true', 'false'], { error: "manual: must be 'true' or 'false'" }).optional() });
const agentParams = z.object({ agent_id: z.string().min(1).max(128) });
const imageParams = z.object({ userId: z.string().max(64), name: z.string().max(200) });

export interface AvatarRouteOptions {
  avatars: AvatarService;
  uploadLimits: preHandlerAsyncHookHandler[];
}

/**
 * Reads a multipart avatar upload: the `file` part streams into storage (bounded, type-checked), the other
 * fields are collected. A refusal removes what was stored and reads the rest of the body away, so the client
 * gets the answer (413, 400) instead of a reset connection.
 */
async function receiveAvatar(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, store: (stream: Readable, mimetype: string, filename: string) => Promise<StoredAvatar>, use: (stored: StoredAvatar, fields: Record<string, string>) => Promise<unknown>, discard: (stored: StoredAvatar) => Promise<void>) {
  if (!request.isMultipart()) throw new ValidationError('file: send the avatar as multipart/form-data in the field "file"');
  const fields: Record<string, string> = {};
  let stored: StoredAvatar | undefined;
  let unread: Readable | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (part.fieldname !== 'file' || stored) {
        part.file.resume();
        continue;
      }
      unread = part.file;
      stored = await store(part.file, part.mimetype, part.filename);
      unread = undefined;
    }
    if (!stored) throw new ValidationError('No file uploaded');
    return await use(stored, fields);
  } catch (error) {
    if (stored) await discard(stored).catch((discardError) => request.log.warn({ err: discardError }, 'could not remove a refused avatar'));
    unread?.resume();
    if (!request.raw.readableEnded) request.raw.resume();
    if (error instanceof UploadTooLargeError || error instanceof app.multipartErrors.RequestFileTooLargeError) {
      const message = error instanceof UploadTooLargeError ? error.message : 'File exceeds the maximum allowed size';
      return reply.status(413).send({ message, requestId: request.id });
    }
    if (error instanceof DomainError) throw error;
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return reply.status(statusCode).send({ message: (error as Error).message, requestId: request.id });
    request.log.error({ err: error }, 'avatar upload failed');
    return reply.status(500).send({ message: 'An error occurred while uploading the avatar', requestId: request.id });
  }
}

/**
 * `POST /api/files/images/avatar` and `/images/agents/:agent_id/avatar` (LIBRECHAT-API.md §4), registered by
 * api/routes/files.ts inside its multipart and JWT context.
 */
export function registerAvatarUploads(app: FastifyInstance, options: AvatarRouteOptions) {
  const { avatars } = options;

  // LibreChat: `{ url }` (the client puts it on the user as `avatar`).
  app.post('/images/avatar', { preHandler: options.uploadLimits }, async (request, reply) => {
    const user = authenticatedUser(request);
    return receiveAvatar(
      app,
      request,
      reply,
      (stream, mimetype, filename) => avatars.store(user.id, { kind: 'user' }, { stream, mimetype, filename }),
      async (stored, fields) => reply.send(await avatars.setUserAvatar(user.id, stored, parseInput(userAvatarFields, fields).manual !== 'false')),
      (stored) => avatars.discard(stored),
    );
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
    return receiveAvatar(
      app,
      request,
      reply,
      (stream, mimetype, filename) => avatars.store(user.id, { kind: 'agent', agentId: agent_id }, { stream, mimetype, filename }),
      async (stored) => reply.status(201).send(await avatars.setAgentAvatar(user, agent_id, stored, previous.avatar)),
      (stored) => avatars.discard(stored),
    );
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
