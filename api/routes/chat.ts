import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { ConflictError, NotFoundError, RateLimitError } from '../../shared/errors.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import type { RunInfo, RunRegistry } from '../../shared/run-registry.ts';
import { endsRun, readEvents, readLastEvent } from '../../shared/run-stream.ts';
import { MAX_MESSAGE_TEXT_LENGTH, idSchema } from '../../shared/schemas.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { ChatService } from '../services/chat-service.ts';
import type { ConversationService } from '../services/conversation-service.ts';
import { openSse } from '../sse.ts';
import type { FollowerLimits } from '../sse/follower-limits.ts';
import { GENERATION_PROTOCOL_HEADER, speaksProtocol2, wantsJsonStart } from '../sse/client-protocol.ts';
import { buildResumeState } from '../sse/resume-state.ts';
import { encodeForLibreChat, encodeForProtocol2, type StreamHub } from '../sse/stream-hub.ts';
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
  /** The newest client's id for one send, stable across its retries: the idempotency key when present. */
  clientRequestId: z.string().regex(/^[A-Za-z0-9:_-]{1,128}$/, 'must be 1-128 letters, digits, :, _ or -').optional(),
  generationProtocolVersion: z.number().int().min(1).max(9).optional(),
});

const endpointParams = z.object({ endpoint: z.string().min(1).max(100) });
const streamParams = z.object({ streamId: idSchema });
const streamQuery = z.object({
  lastEventId: z.string().optional(),
  resume: z.enum(['true', 'false']).optional(),
  generationCreatedAt: z.string().regex(/^\d{1,16}$/, 'must be the generation\'s epoch in milliseconds').transform(Number).optional(),
  generationProtocolVersion: z.string().optional(),
});
const conversationParams = z.object({ conversationId: idSchema });
const abortBody = z.union([
  z.object({ streamId: idSchema, generationCreatedAt: z.number().int().optional() }),
  // The newest client may abort a brand-new chat by `conversationId: 'new'` (its only running reply).
  z.object({ conversationId: z.union([idSchema, z.literal('new')]), generationCreatedAt: z.number().int().optional() }),
]);
const titleBody = z.object({ conversationId: idSchema });
/** SSE ids are `0-<seq>`, the event's place in its run. */
const lastEventIdSchema = z.string().regex(/^0-\d{1,9}$/, 'must be an event id this server sent').transform((id) => Number(id.slice(2)));

const TITLE_WAIT_MS = 10_000;

function describeRun(run: RunInfo) {
  return { streamId: run.streamId, conversationId: run.conversationId, responseMessageId: run.responseMessageId, status: run.status, createdAt: run.createdAt };
}

/** The generation's identity as LibreChat's clients hold it: the run's start, in epoch milliseconds. */
function generationCreatedAt(run: RunInfo): number {
  return Date.parse(run.createdAt);
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
    const { text, conversationId, parentMessageId, endpoint, model, isRegenerate, isContinued, responseMessageId, overrideParentMessageId, editedContent, messageId, clientRequestId, generationProtocolVersion: _version, ...parameters } = body;
    // The client posts to /chat/<endpoint type> (e.g. "custom") and names the endpoint in the body.
    const endpointName = endpoint ?? pathEndpoint;
    const json = wantsJsonStart(request);
    // An SSE answer holds a stream: counted against the user's open streams before the run starts.
    const release = json ? () => {} : acquireFollower(user.id);
    try {
      const started = await chat.start(user.id, {
        endpoint: endpointName,
        model,
        text,
        conversationId,
        parentMessageId,
        isRegenerate,
        isContinued,
        responseMessageId,
        overrideParentMessageId,
        editedContent,
        parameters,
        clientMessageId: clientRequestId ?? messageId,
      });
      if (client.gone) {
        request.log.info('client left before its reply started streaming; the run goes on');
        return reply.hijack();
      }
      if (started.refused) {
        // LibreChat's way of refusing a chat request, for every client: a `created` event, then `event: error`.
        const response = openSse(reply);
        response.write(`id: 0-1\nevent: message\ndata: ${JSON.stringify(started.created)}\n\n`);
        response.end(`id: 0-2\nevent: error\ndata: ${JSON.stringify({ text: started.message, error: true, final: true, conversationId: started.created.conversationId })}\n\n`);
        return reply;
      }
      if (json) {
        const { run } = started;
        const protocol = speaksProtocol2(request) ? { generationProtocolVersion: 2 } : {};
        reply.header(GENERATION_PROTOCOL_HEADER, speaksProtocol2(request) ? '2' : '1');
        // A repeat of a send whose reply has ended: the client reloads the conversation instead.
        if (started.repeated && run.status !== 'running') return { conversationId: run.conversationId, status: 'settled', ...protocol };
        // The stream id these clients use is the conversation id (the stream route accepts either).
        return { streamId: run.conversationId, conversationId: run.conversationId, generationCreatedAt: generationCreatedAt(run), status: started.repeated ? 'resumed' : 'started', ...protocol };
      }
      const response = openSse(reply, { 'x-stream-id': started.run.streamId });
      await hub.follow({ streamKey: keys.chatStream(started.run.streamId), afterSeq: 0, response });
      return reply;
    } finally {
      release();
    }
  });

  /** A stream id, or (for LibreChat's JSON clients) a conversation id naming its current run. */
  async function runForStream(userId: string, id: string): Promise<RunInfo> {
    const run = (await runs.get(id)) ?? (await runs.findByConversation(userId, id));
    if (!run || run.userId !== userId) throw new NotFoundError('Stream not found');
    return run;
  }

  app.get('/agents/chat/stream/:streamId', { preHandler: app.requireJwt }, async (request, reply) => {
    const client = watchClient(reply);
    const user = authenticatedUser(request);
    const { streamId: id } = parseInput(streamParams, request.params);
    const query = parseInput(streamQuery, request.query);
    const header = request.headers['last-event-id'];
    const rawLastEventId = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId;
    let afterSeq = rawLastEventId ? parseInput(lastEventIdSchema, rawLastEventId) : 0;
    const encode = speaksProtocol2(request) ? encodeForProtocol2 : encodeForLibreChat;
    const release = acquireFollower(user.id);
    try {
      const run = await runForStream(user.id, id);
      if (query.generationCreatedAt !== undefined && query.generationCreatedAt !== generationCreatedAt(run)) {
        throw new ConflictError('The requested generation has completed or was replaced.', 'GENERATION_REPLACED');
      }
      const streamKey = keys.chatStream(run.streamId);
      if ((await redis.exists(streamKey)) === 0) throw new NotFoundError('Stream has expired');
      // LibreChat's resume (no Last-Event-ID): one `sync` frame with the run so far, then what follows it.
      const snapshot = query.resume === 'true' && !rawLastEventId ? await readEvents(redis, streamKey) : undefined;
      if (client.gone) return reply.hijack();
      const response = openSse(reply, { 'x-stream-id': run.streamId, ...(speaksProtocol2(request) ? { [GENERATION_PROTOCOL_HEADER]: '2' } : {}) });
      if (snapshot && snapshot.length > 0) {
        const last = snapshot.at(-1)!;
        if (endsRun(last)) {
          // Already ended: the end frame itself, which the client knows how to finish with.
          response.end(encode(last) ?? '');
          return reply;
        }
        response.write(`id: 0-${last.seq}\nevent: message\ndata: ${JSON.stringify({ sync: true, resumeState: buildResumeState(snapshot), pendingEvents: [] })}\n\n`);
        afterSeq = last.seq;
      }
      await hub.follow({ streamKey, afterSeq, response, encode });
      return reply;
    } finally {
      release();
    }
  });

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
