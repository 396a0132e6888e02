import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { NotFoundError, RateLimitError } from '../../shared/errors.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import type { RunInfo, RunRegistry } from '../../shared/run-registry.ts';
import { endsRun, readLastEvent } from '../../shared/run-stream.ts';
import { MAX_MESSAGE_TEXT_LENGTH, idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { ChatService } from '../services/chat-service.ts';
import type { ConversationService } from '../services/conversation-service.ts';
import { openSse } from '../sse.ts';
import type { FollowerLimits } from '../sse/follower-limits.ts';
import type { StreamHub } from '../sse/stream-hub.ts';
import { encodeLibreChatEvent } from '../sse/librechat-encoder.ts';
import { parseInput } from '../validation.ts';

export interface ChatRouteDependencies {
  config: Config;
  endpoints: EndpointsConfig;
  redis: Redis;
  temporal: Client;
  keys: RedisKeys;
  conversations: ConversationService;
  runs: RunRegistry;
  chat: ChatService;
  hub: StreamHub;
  followerLimits: FollowerLimits;
}

const optionalNumber = (min: number, max: number) => z.number().min(min).max(max).nullish().transform((value) => value ?? undefined);
const optionalInt = (max: number) => z.number().int().min(1).max(max).nullish().transform((value) => value ?? undefined);

/** LibreChat's flat chat body; unknown client fields are dropped, never stored. */
const chatBody = z.object({
  text: z.string().max(MAX_MESSAGE_TEXT_LENGTH, `must be at most ${MAX_MESSAGE_TEXT_LENGTH} characters`).default(''),
  conversationId: z.union([idSchema, z.null()]).optional(),
  parentMessageId: idSchema.nullish().transform((value) => value ?? undefined),
  endpoint: z.string().max(100).optional(),
  model: z.string().min(1, 'is required').max(200),
  isRegenerate: z.boolean().optional(),
  isContinued: z.boolean().optional(),
  responseMessageId: idSchema.nullish(),
  overrideParentMessageId: idSchema.nullish(),
  editedContent: z.object({ index: z.number().int().min(0), text: z.string().max(MAX_MESSAGE_TEXT_LENGTH), type: z.string().optional() }).nullish(),
  promptPrefix: z.string().max(20_000).nullish().transform((value) => value ?? undefined),
  system: z.string().max(20_000).nullish().transform((value) => value ?? undefined),
  temperature: optionalNumber(0, 2),
  top_p: optionalNumber(0, 1),
  frequency_penalty: optionalNumber(-2, 2),
  presence_penalty: optionalNumber(-2, 2),
  maxOutputTokens: optionalInt(200_000),
  max_tokens: optionalInt(200_000),
  maxContextTokens: optionalInt(2_000_000),
  /** The client's id for the message: makes a repeated POST attach to the same run. */
  messageId: z.string().min(1).max(100).nullish().transform((value) => value ?? undefined),
});

const endpointParams = z.object({ endpoint: z.string().min(1).max(100) });
const streamParams = z.object({ streamId: idSchema });
const conversationParams = z.object({ conversationId: idSchema });
const abortBody = z.union([z.object({ streamId: idSchema }), z.object({ conversationId: idSchema })]);
const titleBody = z.object({ conversationId: idSchema });
/** SSE ids are `0-<seq>`, the event's place in its run. */
const lastEventIdSchema = z.string().regex(/^0-\d{1,9}$/, 'must be an event id this server sent').transform((id) => Number(id.slice(2)));

const TITLE_WAIT_MS = 10_000;

function describeRun(run: RunInfo) {
  return { streamId: run.streamId, conversationId: run.conversationId, responseMessageId: run.responseMessageId, status: run.status, createdAt: run.createdAt };
}

export async function chatRoutes(app: FastifyInstance, options: ChatRouteDependencies) {
  const { redis, keys, conversations, runs, chat, hub, followerLimits } = options;

  /** A run the caller owns; anyone else's (or an unknown id) is 404, never 403. */
  async function ownedRun(userId: string, streamId: string): Promise<RunInfo> {
    const run = await runs.get(streamId);
    if (!run || run.userId !== userId) throw new NotFoundError('Stream not found');
    return run;
  }

  /** One of the user's open-stream slots, or 429 (each open stream holds server resources). */
  function acquireFollower(userId: string): () => void {
    const release = followerLimits.tryAcquire(userId);
    if (!release) throw new RateLimitError(`Too many open streams: at most ${options.config.SSE_MAX_STREAMS_PER_USER} at once. Close a tab and try again.`, 5);
    return release;
  }

  /**
   * Tracks the client from the first moment of the request: a client that leaves while the run is being
   * started or looked up gets nothing written and holds nothing afterwards.
   */
  function watchClient(reply: FastifyReply) {
    let gone = reply.raw.destroyed;
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone = true;
    });
    return { get gone() { return gone || reply.raw.destroyed; } };
  }

  app.post('/agents/chat/:endpoint', { preHandler: app.requireJwt }, async (request, reply) => {
    const client = watchClient(reply);
    const user = authenticatedUser(request);
    const { endpoint: pathEndpoint } = parseInput(endpointParams, request.params);
    const body = parseInput(chatBody, request.body);
    const { text, conversationId, parentMessageId, endpoint, model, isRegenerate, isContinued, responseMessageId, overrideParentMessageId, editedContent, messageId, ...parameters } = body;
    // The client posts to /chat/<endpoint type> (e.g. "custom") and names the endpoint in the body.
    const endpointName = endpoint ?? pathEndpoint;
    const release = acquireFollower(user.id);
    try {
      const started = await chat.start(user.id, { endpoint: endpointName, model, text, conversationId, parentMessageId, isRegenerate, isContinued, responseMessageId, overrideParentMessageId, editedContent, parameters, clientMessageId: messageId });
      if (client.gone) {
        request.log.info('client left before its reply started streaming; the run goes on');
        return reply.hijack();
      }
      if (started.refused) {
        // LibreChat's way of refusing a chat request: a `created` event, then `event: error`.
        const response = openSse(reply);
        response.write(`id: 0-1\nevent: message\ndata: ${JSON.stringify(started.created)}\n\n`);
        response.end(`id: 0-2\nevent: error\ndata: ${JSON.stringify({ text: started.message, error: true, final: true, conversationId: started.created.conversationId })}\n\n`);
        return reply;
      }
      const response = openSse(reply, { 'x-stream-id': started.run.streamId });
      await hub.follow({ streamKey: keys.chatStream(started.run.streamId), afterSeq: 0, response });
      return reply;
    } finally {
      release();
    }
  });

  app.get('/agents/chat/stream/:streamId', { preHandler: app.requireJwt }, async (request, reply) => {
    const client = watchClient(reply);
    const user = authenticatedUser(request);
    const { streamId } = parseInput(streamParams, request.params);
    const header = request.headers['last-event-id'];
    const query = request.query as { lastEventId?: string };
    const rawLastEventId = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId;
    const afterSeq = rawLastEventId ? parseInput(lastEventIdSchema, rawLastEventId) : 0;
    const release = acquireFollower(user.id);
    try {
      await ownedRun(user.id, streamId);
      if ((await redis.exists(keys.chatStream(streamId))) === 0) throw new NotFoundError('Stream has expired');
      if (client.gone) return reply.hijack();
      const response = openSse(reply, { 'x-stream-id': streamId });
      await hub.follow({ streamKey: keys.chatStream(streamId), afterSeq, response });
      return reply;
    } finally {
      release();
    }
  });

  app.get('/agents/chat/active', { preHandler: app.requireJwt }, async (request) => {
    const active = await runs.listActive(authenticatedUser(request).id);
    return { active: active.map(describeRun) };
  });

  app.get('/agents/chat/status/:conversationId', { preHandler: app.requireJwt }, async (request) => {
    const user = authenticatedUser(request);
    const { conversationId } = parseInput(conversationParams, request.params);
    const run = await runs.findByConversation(user.id, conversationId);
    // A brand-new conversation exists only once the run's first activity saved it; the user's own
    // run record is proof enough of ownership until then.
    if (!run) await conversations.requireOwned(user.id, conversationId);
    return run ? { active: run.status === 'running', ...describeRun(run) } : { active: false, conversationId };
  });

  app.post('/agents/chat/abort', { preHandler: app.requireJwt }, async (request) => {
    const user = authenticatedUser(request);
    const body = parseInput(abortBody, request.body);
    const run = 'streamId' in body ? await ownedRun(user.id, body.streamId) : await runs.findByConversation(user.id, body.conversationId);
    if (!run || run.userId !== user.id) throw new NotFoundError('No running reply for this conversation');
    if (run.status === 'running') await chat.abort(run);
    // Answer with the run's final event once the workflow has saved the partial reply (polled: an
    // abort holds no connection of its own).
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const last = await readLastEvent(redis, keys.chatStream(run.streamId));
      if (last && endsRun(last)) {
        const encoded = encodeLibreChatEvent(last.event)!;
        return { streamId: run.streamId, conversationId: run.conversationId, ...(encoded.data as Record<string, unknown>) };
      }
      if (!last) break;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return { streamId: run.streamId, conversationId: run.conversationId, aborted: true, pending: true };
  });

  /** The title the run generated (new conversations); waits briefly, as the client asks right after `final`. */
  async function generatedTitle(userId: string, conversationId: string) {
    const conversation = await conversations.requireOwned(userId, conversationId);
    const deadline = Date.now() + TITLE_WAIT_MS;
    while (Date.now() < deadline) {
      const title = await redis.get(keys.generatedTitle(userId, conversationId));
      if (title) return { title };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const latest = await conversations.requireOwned(userId, conversationId);
    if (latest.title && latest.title !== 'New Chat') return { title: latest.title };
    throw new NotFoundError(`Title not found for conversation ${conversation.conversationId}`);
  }

  app.get('/convos/gen_title/:conversationId', { preHandler: app.requireJwt }, async (request) => {
    const { conversationId } = parseInput(conversationParams, request.params);
    return generatedTitle(authenticatedUser(request).id, conversationId);
  });
  app.post('/convos/gen_title', { preHandler: app.requireJwt }, async (request) => {
    const { conversationId } = parseInput(titleBody, request.body);
    return generatedTitle(authenticatedUser(request).id, conversationId);
  });

}
