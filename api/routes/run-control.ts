import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../shared/errors.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import type { RunInfo, RunRegistry } from '../../shared/run-registry.ts';
import { endsRun, readEvents, readLastEvent } from '../../shared/run-stream.ts';
import { idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { ChatService } from '../services/chat-service.ts';
import type { ConversationService } from '../services/conversation-service.ts';
import { describeRun, generationCreatedAt } from '../services/run-views.ts';
import { GENERATION_PROTOCOL_HEADER, speaksProtocol2 } from '../sse/client-protocol.ts';
import { encodeLibreChatEvent } from '../sse/librechat-encoder.ts';
import { buildResumeState } from '../sse/resume-state.ts';
import { parseInput } from '../validation.ts';

const conversationParams = z.object({ conversationId: idSchema });
const abortBody = z.union([
  z.object({ streamId: idSchema, generationCreatedAt: z.number().int().optional() }),
  // The newest client may abort a brand-new chat by `conversationId: 'new'` (its only running reply).
  z.object({ conversationId: z.union([idSchema, z.literal('new')]), generationCreatedAt: z.number().int().optional() }),
]);

/** Which runs are going (`active`, `status`) and stopping one (`abort`), for both client protocols. */
export async function runControlRoutes(app: FastifyInstance, options: { redis: Redis; keys: RedisKeys; runs: RunRegistry; chat: ChatService; conversations: ConversationService }) {
  const { redis, keys, runs, chat, conversations } = options;

  /** A run the caller owns; anyone else's (or an unknown id) is 404, never 403. */
  async function ownedRun(userId: string, streamId: string): Promise<RunInfo> {
    const run = await runs.get(streamId);
    if (!run || run.userId !== userId) throw new NotFoundError('Stream not found');
    return run;
  }

  app.get('/agents/chat/active', { preHandler: app.requireJwt }, async (request) => {
    const active = await runs.listActive(authenticatedUser(request).id);
    // `activeJobIds`: LibreChat's JSON clients mark these conversations as generating in the sidebar.
    return { active: active.map(describeRun), activeJobIds: active.map((run) => run.conversationId) };
  });

  app.get('/agents/chat/status/:conversationId', { preHandler: app.requireJwt }, async (request, reply) => {
    const user = authenticatedUser(request);
    const { conversationId } = parseInput(conversationParams, request.params);
    const run = await runs.findByConversation(user.id, conversationId);
    if (speaksProtocol2(request)) {
      reply.header(GENERATION_PROTOCOL_HEADER, '2');
      // Inactive as soon as the run has ended: the client accepts a final frame only once this says so.
      if (!run || run.status !== 'running') return { active: false, generationProtocolVersion: 2 };
      const resumeState = buildResumeState(await readEvents(redis, keys.chatStream(run.streamId)));
      return { active: true, generationProtocolVersion: 2, streamId: run.conversationId, status: 'running', aggregatedContent: resumeState.aggregatedContent, createdAt: generationCreatedAt(run), resumeState };
    }
    // A brand-new conversation exists only once the run's first activity saved it; the user's own
    // run record is proof enough of ownership until then.
    if (!run) await conversations.requireOwned(user.id, conversationId);
    return run ? { active: run.status === 'running', ...describeRun(run) } : { active: false, conversationId };
  });

  app.post('/agents/chat/abort', { preHandler: app.requireJwt }, async (request) => {
    const user = authenticatedUser(request);
    const body = parseInput(abortBody, request.body);
    let run: RunInfo | undefined;
    if ('streamId' in body) run = await ownedRun(user.id, body.streamId);
    else if (body.conversationId === 'new') {
      // A new chat whose id the client has not learnt yet: its only running reply (of that generation).
      const candidates = (await runs.listActive(user.id)).filter((candidate) => body.generationCreatedAt === undefined || generationCreatedAt(candidate) === body.generationCreatedAt);
      if (candidates.length > 1) throw new ConflictError('More than one reply is running; name the conversation to stop.', 'AMBIGUOUS_ACTIVE_RUN');
      run = candidates[0];
    } else run = await runs.findByConversation(user.id, body.conversationId);
    if (!run || run.userId !== user.id) throw new NotFoundError('No running reply for this conversation');
    if (body.generationCreatedAt !== undefined && body.generationCreatedAt !== generationCreatedAt(run)) {
      throw new ConflictError('A newer reply has replaced the one to stop.', 'RUN_REPLACED');
    }
    const protocol = speaksProtocol2(request) ? { generationProtocolVersion: 2 } : {};
    const wasRunning = run.status === 'running';
    if (wasRunning) await chat.abort(run);
    // Answer with the run's end event once the workflow has saved the partial reply (polled: an abort
    // holds no connection of its own). `success`/`aborted` are what LibreChat's JSON clients read.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const last = await readLastEvent(redis, keys.chatStream(run.streamId));
      if (last && endsRun(last)) {
        const encoded = encodeLibreChatEvent(last.event)!;
        const settledFirst = !wasRunning || !(last.event.type === 'final' && last.event.aborted);
        return {
          ...(encoded.data as Record<string, unknown>),
          streamId: run.streamId,
          conversationId: run.conversationId,
          // The newest client reads `aborted` as the stopped stream's id; older ones read the final event.
          ...(!protocol.generationProtocolVersion ? { success: true } : settledFirst ? { success: false, settled: true, code: 'RUN_ALREADY_SETTLED' } : { success: true, aborted: run.conversationId }),
          ...protocol,
        };
      }
      if (!last) break;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return { streamId: run.streamId, conversationId: run.conversationId, aborted: true, pending: true, success: true, ...protocol };
  });
}
