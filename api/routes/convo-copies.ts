import multipart from '@fastify/multipart';
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../shared/errors.ts';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { ConversationCopyService } from '../services/conversation-copy-service.ts';
import type { ConversationImportService } from '../services/conversation-import-service.ts';
import { parseInput } from '../validation.ts';

const forkBody = z.object({
  conversationId: idSchema,
  messageId: idSchema,
  // LibreChat's ForkOptions; '' and 'default' mean its default, the target level.
  option: z
    .enum(['directPath', 'includeBranches', 'targetLevel', 'default', ''])
    .optional()
    .transform((option) => (option === 'directPath' || option === 'includeBranches' ? option : 'targetLevel')),
  splitAtTarget: z.boolean().default(false),
  latestMessageId: idSchema.optional(),
});
const duplicateBody = z.object({ conversationId: idSchema, title: z.string().trim().min(1).max(200).optional() });

export interface ConvoCopyRouteOptions {
  copies: ConversationCopyService;
  imports: ConversationImportService;
  importMaxFileSize: number;
  forkLimit: preHandlerAsyncHookHandler;
  importLimit: preHandlerAsyncHookHandler;
}

/** `/api/convos/{fork,duplicate,import}`: new conversations made from existing ones or from an export file. */
export async function convoCopyRoutes(app: FastifyInstance, options: ConvoCopyRouteOptions) {
  const { copies, imports } = options;
  // Only this plugin parses multipart bodies; one JSON file, nothing else of size.
  await app.register(multipart, { limits: { fileSize: options.importMaxFileSize, files: 1, fields: 10, fieldSize: 1024, parts: 12, headerPairs: 100 } });
  app.addHook('preHandler', app.requireJwt);

  app.post('/fork', { preHandler: options.forkLimit }, async (request) => {
    const body = parseInput(forkBody, request.body);
    return copies.fork(authenticatedUser(request).id, body);
  });

  app.post('/duplicate', { preHandler: options.forkLimit }, async (request, reply) => {
    const body = parseInput(duplicateBody, request.body);
    return reply.status(201).send(await copies.duplicate(authenticatedUser(request).id, body));
  });

  app.post('/import', { preHandler: options.importLimit }, async (request, reply) => {
    if (!request.isMultipart()) throw new ValidationError('file: send the export as multipart/form-data in the field "file"');
    const upload = await request.file();
    if (!upload || upload.fieldname !== 'file') throw new ValidationError('file: send the export as multipart/form-data in the field "file"');
    // LibreChat's import filter: a JSON type or a .json name.
    if (upload.mimetype !== 'application/json' && !upload.filename.toLowerCase().endsWith('.json')) {
      upload.file.resume();
      throw new ValidationError('file: only JSON files are allowed');
    }
    let file: Buffer;
    try {
      // Bounded by the plugin's fileSize: past it this rejects instead of buffering on.
      file = await upload.toBuffer();
    } catch (error) {
      if (error instanceof app.multipartErrors.RequestFileTooLargeError) {
        return reply.status(413).send({ message: 'File exceeds the maximum allowed size', requestId: request.id });
      }
      throw error;
    }
    await imports.importFile(authenticatedUser(request).id, file);
    return reply.status(201).send({ message: 'Conversation(s) imported successfully' });
  });
}
