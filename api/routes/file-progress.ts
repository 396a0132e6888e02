import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RateLimitError } from '../../shared/errors.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { FileProgressService } from '../services/file-progress-service.ts';
import { settledFrame } from '../services/file-progress-service.ts';
import type { FileService } from '../services/file-service.ts';
import { openSse } from '../sse.ts';
import type { FollowerLimits } from '../sse/follower-limits.ts';
import type { StreamHub } from '../sse/stream-hub.ts';
import { parseInput } from '../validation.ts';

const params = z.object({ file_id: z.string().min(1).max(128) });
const query = z.object({ lastEventId: z.string().optional() });
/** Ids are `0-<seq>` (shared/file-progress.ts: the seq is at least the append's time in ms). */
const lastEventIdSchema = z.string().regex(/^0-\d{1,16}$/, 'must be an event id this server sent').transform((id) => Number(id.slice(2)));

export interface FileProgressRouteOptions {
  files: Pick<FileService, 'get'>;
  progress: FileProgressService;
  hub: StreamHub;
  followerLimits: FollowerLimits;
  maxStreamsPerUser: number;
}

/**
 * `GET /api/files/:file_id/progress` (durachat's own; LibreChat has none): the file's ingestion as SSE, from
 * the same hub as replies (a few Redis connections for every follower of the process), resumable with
 * Last-Event-ID, ended after the `final: true` frame. A file that has settled answers its end frame at once
 * from the record; another user's file is 404, as if it did not exist.
 */
export async function fileProgressRoutes(app: FastifyInstance, options: FileProgressRouteOptions) {
  const { files, progress, hub, followerLimits } = options;

  app.get('/:file_id/progress', { preHandler: app.requireJwt }, async (request, reply) => {
    const user = authenticatedUser(request);
    const { file_id } = parseInput(params, request.params);
    const header = request.headers['last-event-id'];
    const rawLastEventId = (Array.isArray(header) ? header[0] : header) ?? parseInput(query, request.query).lastEventId;
    const afterSeq = rawLastEventId ? parseInput(lastEventIdSchema, rawLastEventId) : 0;
    const file = await files.get(user.id, file_id);
    const settled = settledFrame(file);
    if (settled) {
      // From the stream while it has the end (ids, and nothing twice for a client that resumes after the end);
      // from the record once it has expired or when Redis cannot answer.
      const fromStream = await progress.settledFrames(file_id, afterSeq).catch((error) => {
        request.log.warn({ err: error, fileId: file_id }, 'could not read the file progress stream; answering from the record');
        return undefined;
      });
      openSse(reply).end(fromStream ?? settled);
      return reply;
    }
    const release = followerLimits.tryAcquire(user.id);
    if (!release) throw new RateLimitError(`Too many open streams: at most ${options.maxStreamsPerUser} at once. Close a tab and try again.`, 5);
    try {
      await progress.ensureStream(file);
      if (reply.raw.destroyed) return reply.hijack();
      const response = openSse(reply);
      await hub.follow({ streamKey: progress.streamKey(file_id), afterSeq, response, encode: progress.encoderFor(file_id) });
      return reply;
    } finally {
      release();
    }
  });
}
