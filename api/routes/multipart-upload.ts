import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ValidationError } from '../../shared/errors.ts';
import { UploadTooLargeError } from '../services/file-service.ts';

export interface UploadSteps<Stored> {
  /** Streams the `file` part into storage (bounded, type-checked); `fields` holds the fields sent before it. */
  store(part: MultipartFile, fields: Record<string, string>): Promise<Stored>;
  /** Once the whole body is read: what the upload is for; it sends the answer. */
  use(stored: Stored, fields: Record<string, string>): Promise<unknown>;
  /** Removes what `store` wrote, when the upload is refused after it. */
  discard(stored: Stored): Promise<void>;
  messages: { notMultipart: string; noFile: string; failed: string };
}

/**
 * One multipart upload as `/api/files`, `/api/files/images` and the avatar routes read it: the parts in order,
 * the first `file` part streamed into storage by `store` (never into memory whole), the other fields collected
 * (fields sent after the file are read once the body ends). A refusal removes what was stored and reads the
 * rest of the body away, so the client gets the answer (413, 400) instead of a reset connection.
 */
export async function receiveUpload<Stored>(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, steps: UploadSteps<Stored>) {
  if (!request.isMultipart()) throw new ValidationError(steps.messages.notMultipart);
  const fields: Record<string, string> = {};
  let stored: Stored | undefined;
  let unread: NodeJS.ReadableStream | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (part.fieldname !== 'file' || stored !== undefined) {
        part.file.resume();
        continue;
      }
      unread = part.file;
      stored = await steps.store(part, fields);
      unread = undefined;
    }
    if (stored === undefined) throw new ValidationError(steps.messages.noFile);
    return await steps.use(stored, fields);
  } catch (error) {
    if (stored !== undefined) await steps.discard(stored).catch((discardError) => request.log.warn({ err: discardError }, 'could not remove a refused upload'));
    // The rest of the body is read and dropped, so the client gets the answer instead of a reset.
    unread?.resume();
    if (!request.raw.readableEnded) request.raw.resume();
    if (error instanceof UploadTooLargeError || error instanceof app.multipartErrors.RequestFileTooLargeError) {
      const message = error instanceof UploadTooLargeError ? error.message : 'File exceeds the maximum allowed size';
      return reply.status(413).send({ message, requestId: request.id });
    }
    if (error instanceof DomainError) throw error;
    // The multipart parser's own refusals (too many files, fields or parts; a malformed body).
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return reply.status(statusCode).send({ message: (error as Error).message, requestId: request.id });
    request.log.error({ err: error }, 'upload failed');
    return reply.status(500).send({ message: steps.messages.failed, requestId: request.id });
  }
}
