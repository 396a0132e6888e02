import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import type { FilesConfig } from '../../shared/file-config.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import { TOOL_RESOURCES, type FileService, type PendingUpload, type UploadFields } from '../services/file-service.ts';
import { parseInput } from '../validation.ts';
import type { AvatarService } from '../services/avatar-service.ts';
import { registerAvatarUploads } from './file-avatars.ts';
import { receiveUpload } from './multipart-upload.ts';

const uuid = z.uuid({ error: 'must be a UUID' });
const fileIdSchema = z.union([uuid, z.string().regex(/^(file|assistant)-[A-Za-z0-9_-]{1,64}$/)], { error: 'must be a UUID' });
const dimension = z.coerce.number({ error: 'must be a number' }).int().positive().max(100_000);

function uploadFieldsSchema(image: boolean) {
  return z.object({
    file_id: uuid,
    endpoint: z.string({ error: 'Endpoint not provided' }).trim().min(1, 'Endpoint not provided').max(256),
    // LibreChat's legacy name for `context`.
    tool_resource: z.preprocess((value) => (value === 'ocr' ? 'context' : value), z.enum(TOOL_RESOURCES).optional()),
    agent_id: z.string().min(1).max(128).optional(),
    message_file: z.enum(['true', 'false']).optional(),
    width: image ? dimension : dimension.optional(),
    height: image ? dimension : dimension.optional(),
  });
}

const deleteBody = z.object({
  files: z.array(z.object({ file_id: fileIdSchema, filepath: z.string().max(2048).optional() }).loose()).max(1000),
  agent_id: z.string().min(1).max(128).optional(),
  tool_resource: z.preprocess((value) => (value === 'ocr' ? 'context' : value), z.enum(TOOL_RESOURCES).optional()),
});
const fileParams = z.object({ file_id: fileIdSchema });
const downloadParams = z.object({ userId: z.string().regex(/^[0-9a-f]{24}$/, 'not found'), file_id: fileIdSchema });
const agentParams = z.object({ agent_id: z.string().min(1).max(128) });

export interface FileRouteOptions {
  files: FileService;
  config: FilesConfig;
  /** LibreChat's FILE_UPLOAD_IP_* and FILE_UPLOAD_USER_* limiters, in that order. */
  uploadLimits: preHandlerAsyncHookHandler[];
  /** User and agent avatars (api/routes/file-avatars.ts); without it those routes are absent. */
  avatars?: AvatarService;
}

/**
 * The name as the user sees it: LibreChat's client sends it URI-encoded; no folders, no control characters,
 * at most 255 characters. It is only ever shown (the storage key is server-made).
 */
function displayFilename(sent: string): string {
  let name = sent;
  try {
    name = decodeURIComponent(sent);
  } catch {
    // Not URI-encoded: as sent.
  }
  name = name.split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return name || 'file';
}

/** Header-safe JSON: non-ASCII characters escaped, as a header value must be. */
function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `/api/files` (LIBRECHAT-API.md §4). Uploads stream straight into storage: the multipart parts are read in
 * order, the file's bytes go through the size meter and the type sniffer into the storage strategy, never
 * into memory whole; fields sent after the file are checked once the body ends, and a refused upload's
 * object is removed again.
 */
export async function fileRoutes(app: FastifyInstance, options: FileRouteOptions) {
  const { files, config } = options;
  // One byte past the server limit, so the storage meter (not busboy's silent truncation) decides.
  await app.register(multipart, { limits: { fileSize: config.limits.serverFileSizeLimit + 1, files: 1, fields: 20, fieldSize: 4096, parts: 22, headerPairs: 100 } });
  app.addHook('preHandler', app.requireJwt);

  async function upload(request: FastifyRequest, reply: FastifyReply, image: boolean) {
    const user = authenticatedUser(request);
    return receiveUpload<PendingUpload>(app, request, reply, {
      store: (part, fields) =>
        files.store(user, {
          stream: part.file,
          filename: displayFilename(part.filename),
          mimetype: part.mimetype,
          kind: image ? 'image' : 'document',
          endpoint: fields.endpoint || undefined,
          imageOnly: image,
        }),
      use: async (pending, fields) => {
        const parsed = parseInput(uploadFieldsSchema(image), fields);
        const uploadFields: UploadFields = {
          temp_file_id: parsed.file_id,
          endpoint: parsed.endpoint,
          tool_resource: parsed.tool_resource,
          agent_id: parsed.agent_id,
          message_file: parsed.message_file === 'true',
          width: parsed.width,
          height: parsed.height,
        };
        const record = await files.finish(user, pending, uploadFields);
        return reply.send({ message: 'File uploaded and processed successfully', ...record });
      },
      discard: (pending) => files.discard(pending),
      messages: { notMultipart: 'file: send the upload as multipart/form-data in the field "file"', noFile: 'file: no file was sent (multipart field "file")', failed: 'File upload failed' },
    });
  }

  app.post('/', { preHandler: options.uploadLimits }, (request, reply) => upload(request, reply, false));
  app.post('/images', { preHandler: options.uploadLimits }, (request, reply) => upload(request, reply, true));
  if (options.avatars) registerAvatarUploads(app, { avatars: options.avatars, uploadLimits: options.uploadLimits });

  app.get('/', async (request) => files.list(authenticatedUser(request).id));

  // The YAML section as written: LibreChat's client merges it with its own defaults (mergeFileConfig).
  app.get('/config', async () => config.section);

  app.get('/agent/:agent_id', async (request) => {
    const { agent_id } = parseInput(agentParams, request.params);
    return files.agentFiles(authenticatedUser(request), agent_id);
  });

  app.get('/download/:userId/:file_id', async (request, reply) => {
    const { userId, file_id } = parseInput(downloadParams, request.params);
    const { file, body, size } = await files.open(authenticatedUser(request).id, userId, file_id);
    reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', String(size));
    reply.header('x-file-metadata', headerJson(file));
    return reply.send(body);
  });

  // durachat: one file with its ingestion status, for polling.
  app.get('/:file_id', async (request) => {
    const { file_id } = parseInput(fileParams, request.params);
    return files.get(authenticatedUser(request).id, file_id);
  });

  app.delete('/', async (request, reply) => {
    const body = parseInput(deleteBody, request.body);
    if (body.files.length === 0) return reply.status(204).send();
    const result = await files.remove(authenticatedUser(request), { fileIds: body.files.map((file) => file.file_id), agent_id: body.agent_id, tool_resource: body.tool_resource });
    if ('unauthorizedFiles' in result) {
      return reply.status(403).send({ message: 'You can only delete files you have access to', unauthorizedFiles: result.unauthorizedFiles });
    }
    if ('unlinked' in result) return { message: 'File associations removed successfully from agent' };
    return { message: 'Files deleted successfully' };
  });
}
