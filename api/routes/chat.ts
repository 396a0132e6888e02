import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { ConflictError, ForbiddenError, NotFoundError, RateLimitError, ValidationError } from '../../shared/errors.ts';
import { roleDefinitions } from '../../shared/roles.ts';
import { File } from '../../shared/models/file.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import { holdsText } from '../../shared/file-ingestion.ts';
import type { AgentForRun } from '../../shared/agent-run.ts';
import { agentParameters, definedOnly } from '../services/agent-parameters.ts';
import type { ConversationParameters } from '../../shared/chat-run.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import type { RunInfo, RunRegistry } from '../../shared/run-registry.ts';
import { endsRun, readEvents } from '../../shared/run-stream.ts';
import { MAX_MESSAGE_TEXT_LENGTH, idSchema } from '../../shared/schemas.ts';
import { generationCreatedAt } from '../services/run-views.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { ChatService } from '../services/chat-service.ts';
import type { ConversationService } from '../services/conversation-service.ts';
import { openSse } from '../sse.ts';
import type { FollowerLimits } from '../sse/follower-limits.ts';
import { GENERATION_PROTOCOL_HEADER, speaksProtocol2, wantsJsonStart } from '../sse/client-protocol.ts';
import { buildResumeState } from '../sse/resume-state.ts';
import { encodeForLibreChat, encodeForProtocol2, type StreamHub } from '../sse/stream-hub.ts';
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
  /** Agents the user may run (api/services/agent-service.ts): null when it does not exist or the user cannot see it. */
  agents?: { loadAgentForRun(user: { id: string; role: string }, agentId: string): Promise<AgentDocumentForRun | null> };
}

/** The agent fields a run needs, as the agent service returns them. */
export interface AgentDocumentForRun {
  id: string;
  name: string;
  instructions?: string;
  provider: string;
  model: string;
  model_parameters?: Record<string, unknown>;
  tools: string[];
  recursion_limit?: number;
  file_search_file_ids?: string[];
  author?: string;
}

const optionalNumber = (min: number, max: number) => z.number().min(min).max(max).nullish().transform((value) => value ?? undefined);
const optionalInt = (max: number) => z.number().int().min(1).max(max).nullish().transform((value) => value ?? undefined);

/** LibreChat's flat chat body; unknown client fields are dropped, never stored. */
const chatBody = z.object({
  text: z.string().max(MAX_MESSAGE_TEXT_LENGTH, `must be at most ${MAX_MESSAGE_TEXT_LENGTH} characters`).default(''),
  conversationId: z.union([idSchema, z.null()]).optional(),
  parentMessageId: idSchema.nullish().transform((value) => value ?? undefined),
  endpoint: z.string().max(100).optional(),
  /** Required, except for an agent turn (the agent names its model). */
  model: z.string().min(1, 'is required').max(200).nullish().transform((value) => value ?? undefined),
  agent_id: z.string().regex(/^agent_[A-Za-z0-9_-]{1,64}$/, 'must be an agent id').nullish().transform((value) => value ?? undefined),
  /** LibreChat's switches for a plain endpoint's chat: `mcp` lists MCP servers whose tools the model may call. */
  ephemeralAgent: z.object({ mcp: z.array(z.string().max(100)).max(50).optional() }).loose().nullish().transform((value) => value ?? undefined),
  /** Files attached to the message (LibreChat sends their records): the ones that are the user's own become searchable by the model. */
  files: z.array(z.object({ file_id: z.string().min(1).max(100) }).loose()).max(50).nullish().transform((value) => value ?? undefined),
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
/** SSE ids are `0-<seq>`, the event's place in its run. */
const lastEventIdSchema = z.string().regex(/^0-\d{1,9}$/, 'must be an event id this server sent').transform((id) => Number(id.slice(2)));


export async function chatRoutes(app: FastifyInstance, options: ChatRouteDependencies) {
  const { redis, keys, runs, chat, hub, followerLimits } = options;

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

  /**
   * Which run a chat request asks for: an agent's (the `agents` endpoint with `agent_id`: its provider,
   * model, parameters and tools), a plain endpoint's chat with MCP servers switched on (an ephemeral agent
   * whose tools are those servers'), or a plain chat reply.
   */
  async function resolveAgentTurn(
    user: { id: string; role: string },
    endpointName: string,
    model: string | undefined,
    agentId: string | undefined,
    mcpServers: string[] | undefined,
    parameters: ConversationParameters,
    attachedFileIds: string[] = [],
  ): Promise<{ endpoint: string; model: string; parameters: ConversationParameters; agent?: AgentForRun }> {
    const recursion = options.endpoints.agents;
    // Tools (built-in and MCP) are the YAML's `tools` capability, as in LibreChat: without it agents answer without tools.
    const toolsAllowed = recursion.capabilities.includes('tools');
    if (endpointName === 'agents' || agentId) {
      if (!agentId) throw new ValidationError('agent_id: is required on the agents endpoint');
      if (!roleDefinitions[user.role]?.permissions.AGENTS.USE) throw new ForbiddenError('Forbidden: Insufficient permissions');
      const agent = options.agents ? await options.agents.loadAgentForRun(user, agentId) : null;
      if (!agent) throw new NotFoundError('Agent not found');
      const limit = Math.min(agent.recursion_limit ?? recursion.recursionLimit, recursion.maxRecursionLimit);
      return {
        endpoint: agent.provider,
        model: agent.model,
        parameters: { ...agentParameters(agent.model_parameters), ...definedOnly(parameters) },
        agent: withFiles(
          { id: agent.id, name: agent.name || 'Agent', instructions: agent.instructions || undefined, tools: toolsAllowed ? (agent.tools ?? []) : [], recursionLimit: Math.max(1, limit) },
          [...(agent.tools?.includes('file_search') ? await agentReadableFileIds(agent, user.id) : []), ...attachedFileIds],
        ),
      };
    }
    if (!model) throw new ValidationError('model: is required');
    const servers = [...new Set(mcpServers ?? [])];
    if (servers.length === 0 && attachedFileIds.length === 0) return { endpoint: endpointName, model, parameters };
    // Files attached to a plain chat: the model gets file_search over them (LibreChat does the same).
    if (servers.length === 0) return { endpoint: endpointName, model, parameters, agent: withFiles({ id: 'ephemeral', name: model, tools: [], recursionLimit: recursion.recursionLimit }, attachedFileIds) };
    if (!toolsAllowed) throw new ValidationError('ephemeralAgent.mcp: tools are not enabled on this server (endpoints.agents.capabilities)');
    const unknown = servers.filter((server) => !Object.hasOwn(options.endpoints.mcpServers, server));
    if (unknown.length > 0) throw new ValidationError(`ephemeralAgent.mcp: no MCP server named ${unknown.join(', ')}`);
    return {
      endpoint: endpointName,
      model,
      parameters,
      agent: withFiles({ id: 'ephemeral', name: model, tools: servers.map((server) => `sys__all__sys_mcp_${server}`), recursionLimit: recursion.recursionLimit }, attachedFileIds),
    };
  }

  /**
   * An agent's file_search files that it may really search: its author's, or the user's own. Any id can be
   * listed in an agent's tool_resources, so the list alone proves nothing about whose files they are.
   */
  async function agentReadableFileIds(agent: AgentDocumentForRun, userId: string): Promise<string[]> {
    const ids = agent.file_search_file_ids ?? [];
    if (ids.length === 0) return [];
    const owners = [...new Set([agent.author, userId].filter((owner): owner is string => Boolean(owner)))];
    // By id (shared/find-each-id.ts: FerretDB reads the whole collection for `file_id: {$in}`).
    const found = await findEachId(ids, (file_id) => File.find({ file_id, user: { $in: owners } }, { file_id: 1 }).lean<Array<{ file_id: string }>>(), {
      manyIds: (many) => File.find({ file_id: { $in: many }, user: { $in: owners } }, { file_id: 1 }).lean<Array<{ file_id: string }>>(),
    });
    return found.map((file) => file.file_id);
  }

  /**
   * The given files that are this user's own (others' are left out), as the message keeps them, in the order
   * the client attached them (the prompt presents them in that order; the database returns its own).
   */
  async function ownFilesOf(userId: string, fileIds: string[]) {
    const found = await findEachId(fileIds, (file_id) => File.find({ user: userId, file_id }, { file_id: 1, filename: 1, filepath: 1, type: 1, bytes: 1, width: 1, height: 1 }).lean<Array<{ file_id: string; filename: string; filepath: string; type: string; bytes: number; width?: number; height?: number }>>());
    const position = new Map(fileIds.map((id, index) => [id, index] as const));
    found.sort((a, b) => position.get(a.file_id)! - position.get(b.file_id)!);
    return found.map(({ file_id, filename, filepath, type, bytes, width, height }) => ({ file_id, filename, filepath, type, bytes, ...(width !== undefined ? { width } : {}), ...(height !== undefined ? { height } : {}) }));
  }

  app.post('/agents/chat/:endpoint', { preHandler: app.requireJwt }, async (request, reply) => {
    const client = watchClient(reply);
    const user = authenticatedUser(request);
    const { endpoint: pathEndpoint } = parseInput(endpointParams, request.params);
    const body = parseInput(chatBody, request.body);
    const { text, conversationId, parentMessageId, endpoint, model, agent_id, ephemeralAgent, files, isRegenerate, isContinued, responseMessageId, overrideParentMessageId, editedContent, messageId, clientRequestId, generationProtocolVersion: _version, ...parameters } = body;
    // The client posts to /chat/<endpoint type> (e.g. "custom") and names the endpoint in the body.
    const ownFiles = files?.length ? await ownFilesOf(user.id, files.map((file) => file.file_id)) : [];
    const attached = ownFiles.filter((file) => holdsText(file.type)).map((file) => file.file_id);
    const requested = await resolveAgentTurn({ id: user.id, role: user.role ?? 'USER' }, endpoint ?? pathEndpoint, model, agent_id, ephemeralAgent?.mcp, parameters, attached);
    const json = wantsJsonStart(request);
    // An SSE answer holds a stream: counted against the user's open streams before the run starts.
    const release = json ? () => {} : acquireFollower(user.id);
    try {
      const started = await chat.start(user.id, {
        ...requested,
        ...(ownFiles.length > 0 ? { files: ownFiles } : {}),
        text,
        conversationId,
        parentMessageId,
        isRegenerate,
        isContinued,
        responseMessageId,
        overrideParentMessageId,
        editedContent,
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
}

/** A run's agent with file_search over these files (when there are any); ids deduplicated, at most 200. */
function withFiles(agent: AgentForRun, fileIds: string[]): AgentForRun {
  const unique = [...new Set(fileIds)].slice(0, 200);
  if (unique.length === 0) return agent;
  return { ...agent, tools: agent.tools.includes('file_search') ? agent.tools : [...agent.tools, 'file_search'], fileIds: unique };
}
