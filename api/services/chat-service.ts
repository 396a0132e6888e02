import { randomUUID } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { AGENT_RUN_MAX_DURATION_MS, agentWorkflowId, type AgentForRun, type AgentRunInput } from '../../shared/agent-run.ts';
import { toolPoliciesFor } from '../../shared/tool-policies.ts';
import { RUN_MAX_DURATION_MS, chatWorkflowId, runKeyLifetimeSeconds, type ChatRunInput, type ConversationParameters } from '../../shared/chat-run.ts';
import type { CreatedEvent } from '../../shared/run-events.ts';
import { appendUnfenced, readEvents } from '../../shared/run-stream.ts';
import { durachatConversation, durachatEndpoint, durachatModel, durachatRunKind, durachatUser } from '../../shared/search-attributes.ts';
import { encodeLibreChatEvent } from '../sse/librechat-encoder.ts';
import { tokenRate, type BalanceConfig } from '../../shared/balance-config.ts';
import { currentBalance } from '../../shared/balance-ledger.ts';
import type { Config } from '../../shared/config.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../../shared/errors.ts';
import { Message, ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import { publishRunStop } from '../../shared/run-stops.ts';
import type { RunInfo, RunRegistry } from '../../shared/run-registry.ts';
import type { ConversationService } from './conversation-service.ts';
import { temporalReachable } from '../../shared/temporal-reachable.ts';
import type { UserKeyService } from './user-key-service.ts';

export interface ChatRequest {
  endpoint: string;
  model: string;
  text: string;
  conversationId?: string | null;
  parentMessageId?: string;
  isRegenerate?: boolean;
  isContinued?: boolean;
  responseMessageId?: string | null;
  overrideParentMessageId?: string | null;
  editedContent?: { index: number; text: string } | null;
  parameters: ConversationParameters;
  /** The client's id for this message (LibreChat sends `messageId`): the request's idempotency key. */
  clientMessageId?: string;
  /** An agent turn: `endpoint` and `model` are then the agent's provider and model. */
  agent?: AgentForRun;
  /** The user's own files attached to the message (their public records), saved on the user message. */
  files?: Array<Record<string, unknown>>;
}

const PENDING = 'pending';

/** gRPC UNAVAILABLE: no connection to Temporal, so the request was not delivered. */
function neverReachedTemporal(error: unknown): boolean {
  const codeOf = (value: unknown) => (value as { code?: unknown } | undefined)?.code;
  return codeOf(error) === 14 || codeOf((error as { cause?: unknown }).cause) === 14;
}

export type StartedRun = { refused: false; run: RunInfo; created: Record<string, unknown>; repeated?: boolean } | { refused: true; created: Record<string, unknown>; message: string };

type LeanMessage = { messageId: string; parentMessageId: string; text: string; isCreatedByUser: boolean; conversationId: string };

const START_DEADLINE_MS = 5000;
const TEMPORAL_CONNECT_TIMEOUT_MS = 3000;

export function createChatService(deps: {
  config: Pick<Config, 'TASK_QUEUES' | 'CONCURRENT_MESSAGE_MAX' | 'CHAT_STREAM_TTL_SECONDS'>;
  endpoints: EndpointsConfig;
  temporal: Client;
  redis: Redis;
  keys: RedisKeys;
  runs: RunRegistry;
  conversations: Pick<ConversationService, 'requireOwned'>;
  /** Checks `user_provided` endpoints for a usable key of the user's before a run starts. */
  userKeys?: Pick<UserKeyService, 'problemFor'>;
  /** librechat.yaml `balance:`; no balance check when absent or disabled. */
  balance?: BalanceConfig;
  log: FastifyBaseLogger;
}) {
  const { config, temporal, redis, keys, runs, log } = deps;
  /** Starts under way: shutdown waits for them, so no slot is left reserved for a run that never started. */
  const starting = new Set<Promise<unknown>>();

  async function requireMessage(userId: string, conversationId: string, messageId: string): Promise<LeanMessage> {
    const message = await Message.findOne({ messageId, conversationId, user: userId }).lean<LeanMessage>();
    if (!message) throw new NotFoundError('Message not found');
    return message;
  }

  /** Whether Temporal has the workflow: asked with a short deadline after a start whose answer was lost. */
  async function workflowState(workflowId: string): Promise<'exists' | 'missing' | 'unknown'> {
    try {
      await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () => temporal.workflow.getHandle(workflowId).describe());
      return 'exists';
    } catch (error) {
      return error instanceof WorkflowNotFoundError ? 'missing' : 'unknown';
    }
  }

  /**
   * LibreChat's balance check before the model call: refills first when due, then refuses when the
   * credits are gone or short of the prompt's estimated cost. The API has no tokenizer pool: about four
   * characters a token (the run is charged from the provider's own count when it closes).
   */
  async function balanceRefusal(userId: string, model: string, promptText: string): Promise<string | undefined> {
    const balance = deps.balance;
    if (!balance?.enabled) return undefined;
    const { tokenCredits } = await currentBalance(userId, balance);
    const promptTokens = Math.ceil(promptText.length / 4);
    const tokenCost = Math.ceil(promptTokens * tokenRate(balance, model, 'prompt'));
    if (tokenCredits > 0 && tokenCredits >= tokenCost) return undefined;
    log.info({ userId, tokenCredits, tokenCost }, 'chat refused: insufficient balance');
    // The client parses this JSON from the error's text and shows "Insufficient funds! Balance: ...".
    return JSON.stringify({ type: 'token_balance', balance: tokenCredits, tokenCost, promptTokens });
  }

  /** A repeated request: the run the first one started (waiting briefly while that one is still starting). */
  async function attachToRepeat(userId: string, idempotencyKey: string): Promise<StartedRun> {
    const deadline = Date.now() + START_DEADLINE_MS + 2000;
    while (Date.now() < deadline) {
      const value = await redis.get(idempotencyKey);
      if (value === null) break;
      if (value !== PENDING) {
        const run = await runs.get(value);
        const first = await readEvents(redis, keys.chatStream(value), 0).then((items) => items[0]);
        if (run && run.userId === userId && first) {
          log.info({ streamId: run.streamId }, 'repeated chat request attached to its run');
          return { refused: false, run, created: encodeLibreChatEvent(first.event)!.data as Record<string, unknown>, repeated: true };
        }
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new ConflictError('This message was already sent and its reply has ended or could not be found; reload the conversation.');
  }

  /**
   * Validates the turn, reserves a run slot, writes the `created` event and starts the workflow.
   * Nothing is written to the database here: the workflow's first activity does that, so when
   * Temporal cannot be reached the user gets a 503 and no half-saved turn.
   */
  async function startRun(userId: string, request: ChatRequest): Promise<StartedRun> {
    const endpoint = deps.endpoints.endpoints.find((candidate) => candidate.name === request.endpoint);
    if (!endpoint) throw new ValidationError(`endpoint: "${request.endpoint}" is not configured`);
    if (!endpoint.models.includes(request.model)) throw new ValidationError(`model: "${request.model}" is not offered by ${endpoint.name}`);

    const isNewConversation = !request.conversationId || request.conversationId === 'new';
    const conversationId = isNewConversation ? randomUUID() : request.conversationId!;
    const conversationTitle = isNewConversation ? undefined : ((await deps.conversations.requireOwned(userId, conversationId)) as { title?: string }).title;
    if (isNewConversation && (request.isRegenerate || request.isContinued)) throw new ValidationError('conversationId: regenerate and continue need an existing conversation');

    let userMessage: ChatRunInput['userMessage'];
    let responseParentMessageId: string;
    let responseMessageId: string = randomUUID();
    let continuedText: string | undefined;
    let createdMessage: Record<string, unknown>;

    if (request.isContinued) {
      // An agent's reply is content parts (tool calls, outputs) a text continuation cannot extend without losing them.
      if (request.agent) throw new ValidationError('isContinued: an agent\'s reply cannot be continued; regenerate it instead');
      if (!request.responseMessageId) throw new ValidationError('responseMessageId: required to continue a reply');
      const reply = await requireMessage(userId, conversationId, request.responseMessageId);
      if (reply.isCreatedByUser) throw new ValidationError('responseMessageId: only a reply can be continued');
      responseMessageId = reply.messageId;
      responseParentMessageId = reply.parentMessageId;
      // editedContent: the user edited the reply's text before asking to continue it.
      continuedText = request.editedContent ? request.editedContent.text : reply.text;
      const parent = await requireMessage(userId, conversationId, responseParentMessageId);
      createdMessage = { ...parent };
    } else if (request.isRegenerate) {
      const target = request.overrideParentMessageId ?? request.parentMessageId;
      if (!target) throw new ValidationError('parentMessageId: required to regenerate');
      const parent = await requireMessage(userId, conversationId, target);
      if (!parent.isCreatedByUser) throw new ValidationError('parentMessageId: a reply is regenerated from the user message it answers');
      responseParentMessageId = parent.messageId;
      createdMessage = { ...parent };
    } else {
      const text = request.text.trim();
      if (!text) throw new ValidationError('text: must not be empty');
      const parentMessageId = request.parentMessageId ?? ROOT_PARENT_MESSAGE_ID;
      if (parentMessageId !== ROOT_PARENT_MESSAGE_ID) {
        if (isNewConversation) throw new ValidationError('parentMessageId: a new conversation starts at the root');
        await requireMessage(userId, conversationId, parentMessageId);
      }
      userMessage = { messageId: randomUUID(), parentMessageId, text: request.text, ...(request.files?.length ? { files: request.files } : {}) };
      responseParentMessageId = userMessage.messageId;
      createdMessage = { messageId: userMessage.messageId, parentMessageId, conversationId, sender: 'User', text: request.text, isCreatedByUser: true, ...(request.files?.length ? { files: request.files } : {}) };
    }

    // The client's message id makes the request idempotent: a repeat (a retry after a lost response)
    // attaches to the run the first one started instead of starting a second turn.
    const idempotencyKey = request.clientMessageId ? keys.chatIdempotency(userId, request.clientMessageId) : undefined;
    if (idempotencyKey && (await redis.set(idempotencyKey, PENDING, 'EX', runKeyLifetimeSeconds(config.CHAT_STREAM_TTL_SECONDS), 'NX')) !== 'OK') {
      return attachToRepeat(userId, idempotencyKey);
    }
    const releaseIdempotency = () => (idempotencyKey ? redis.del(idempotencyKey).then(() => undefined, () => undefined) : Promise.resolve());

    const streamId = randomUUID();
    const createdEvent: CreatedEvent = {
      type: 'created',
      streamId,
      conversationId,
      responseMessageId,
      message: { ...createdMessage, _id: undefined, user: undefined },
    };
    const created = encodeLibreChatEvent(createdEvent)!.data as Record<string, unknown>;
    // A `user_provided` endpoint without a usable key of this user's: refused before anything starts, with
    // LibreChat's JSON error text (`{"type":"no_user_key"}`, ...), which its client turns into "set your key".
    const keyProblem = await deps.userKeys?.problemFor(userId, endpoint).catch(async (error: unknown) => {
      await releaseIdempotency();
      throw error;
    });
    if (keyProblem) {
      log.info({ userId, endpoint: endpoint.name }, 'chat refused: no usable user key');
      await releaseIdempotency();
      return { refused: true, created, message: keyProblem };
    }
    const promptText = [request.parameters.system, request.parameters.promptPrefix, createdMessage.text, continuedText].filter(Boolean).join('\n\n');
    const insufficient = await balanceRefusal(userId, request.model, promptText).catch(async (error: unknown) => {
      await releaseIdempotency();
      throw error;
    });
    if (insufficient) {
      await releaseIdempotency();
      return { refused: true, created, message: insufficient };
    }
    if (!(await runs.reserveSlot(userId, streamId, config.CONCURRENT_MESSAGE_MAX))) {
      log.info({ userId }, 'chat refused: concurrent run limit');
      await releaseIdempotency();
      return { refused: true, created, message: `You can run at most ${config.CONCURRENT_MESSAGE_MAX} replies at once. Wait for one to finish and try again.` };
    }

    const agent = request.agent;
    const workflowId = (agent ? agentWorkflowId : chatWorkflowId)(responseMessageId, request.isContinued ? streamId : undefined);
    const run: RunInfo = { streamId, userId, conversationId, responseMessageId, workflowId, status: 'running', createdAt: new Date().toISOString() };
    const input: ChatRunInput = {
      streamId,
      userId,
      conversationId,
      isNewConversation,
      endpoint: endpoint.name,
      endpointType: endpoint.type,
      model: request.model,
      sender: agent ? agent.name : (endpoint.modelDisplayLabel ?? request.model),
      parameters: request.parameters,
      userMessage,
      responseMessageId,
      responseParentMessageId,
      continuedText,
      generateTitle: isNewConversation && endpoint.titleConvo,
      created: createdEvent,
      title: conversationTitle,
      backgroundTaskQueue: config.TASK_QUEUES.background,
      runCreatedAt: run.createdAt,
      ...(agent && agent.id !== 'ephemeral' ? { savedAs: { endpoint: 'agents', agent_id: agent.id, replyModel: agent.id } } : {}),
    };
    const runInput: ChatRunInput | AgentRunInput = agent ? { ...input, agent, toolPolicies: toolPoliciesFor(deps.endpoints) } : input;
    try {
      await Promise.all([runs.register(run), appendUnfenced(redis, keys.chatStream(streamId), { seq: 1, event: createdEvent }, runKeyLifetimeSeconds(config.CHAT_STREAM_TTL_SECONDS, agent ? AGENT_RUN_MAX_DURATION_MS : RUN_MAX_DURATION_MS))]);
    } catch (error) {
      await runs.discard(run).catch(() => undefined);
      await releaseIdempotency();
      log.error({ err: error }, 'could not register the run in Redis');
      throw new UnavailableError('The chat service is unavailable right now (Redis); your message was not saved. Please try again.');
    }
    const options = {
      workflowId,
      taskQueue: agent ? config.TASK_QUEUES.agent : config.TASK_QUEUES.chat,
      args: [runInput] as [ChatRunInput],
      // A run that cannot finish within this bound is failed by Temporal, never left hanging.
      workflowExecutionTimeout: agent ? AGENT_RUN_MAX_DURATION_MS : RUN_MAX_DURATION_MS,
      memo: { title: conversationTitle ?? 'New Chat', conversationId, streamId },
      typedSearchAttributes: [
        { key: durachatUser, value: userId },
        { key: durachatConversation, value: conversationId },
        { key: durachatEndpoint, value: endpoint.name },
        { key: durachatModel, value: request.model },
        { key: durachatRunKind, value: agent ? 'agent' : 'chat' },
      ],
      staticSummary: `${request.isContinued ? 'continue' : request.isRegenerate ? 'regenerate' : 'reply'} with ${agent ? `agent ${agent.name} (${request.model} on ${endpoint.name})` : `${request.model} on ${endpoint.name}`}`,
    };
    // Reachable first (immediate once connected): a start that fails here was never sent, so the user can
    // be told plainly that nothing was saved.
    if (!(await temporalReachable(temporal.connection as Connection, TEMPORAL_CONNECT_TIMEOUT_MS))) {
      await runs.discard(run).catch(() => undefined);
      await releaseIdempotency();
      log.error({ address: 'temporal' }, 'Temporal is unreachable');
      throw new UnavailableError('The chat service is unavailable right now; your message was not saved. Please try again.');
    }
    try {
      await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () => temporal.workflow.start(agent ? 'agentRunWorkflow' : 'chatWorkflow', options));
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) {
        // The start may have reached Temporal even though its answer did not reach us: ask before
        // telling the user that nothing was saved.
        const state = await workflowState(workflowId);
        if (state === 'exists') {
          log.warn({ err: error, workflowId }, 'workflow start answered late, but the run exists');
          if (idempotencyKey) await redis.set(idempotencyKey, streamId, 'KEEPTTL').catch(() => undefined);
          log.info({ workflowId, streamId, conversationId, model: request.model, agent: agent?.id }, agent ? 'agent run started' : 'chat run started');
          return { refused: false, run, created };
        }
        if (state === 'unknown') {
          // Keep the run's traces: the sweeper removes them if the workflow never appears.
          log.error({ err: error, workflowId }, 'could not tell whether the chat workflow started');
          throw new UnavailableError('The chat service did not confirm your message in time. It may still be answered: reload the conversation in a moment before sending it again.');
        }
      }
      await runs.discard(run).catch((cleanupError) => log.error({ err: cleanupError }, 'cleanup after failed start failed'));
      await releaseIdempotency();
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError('This reply is already being generated');
      log.error({ err: error, workflowId }, 'could not start the chat workflow');
      throw new UnavailableError('The chat service is unavailable right now; your message was not saved. Please try again.');
    }
    if (idempotencyKey) await redis.set(idempotencyKey, streamId, 'KEEPTTL');
    log.info({ workflowId, streamId, conversationId, model: request.model, agent: agent?.id }, agent ? 'agent run started' : 'chat run started');
    return { refused: false, run, created };
  }

  return {
    /** Starts a run (see startRun), tracked so that shutdown can wait for it. */
    start(userId: string, request: ChatRequest): Promise<StartedRun> {
      const started = startRun(userId, request);
      starting.add(started);
      const forget = () => starting.delete(started);
      started.then(forget, forget);
      return started;
    },

    /** Waits for every start under way (API shutdown). */
    async drain(): Promise<void> {
      await Promise.allSettled([...starting]);
    },

    /** Cancels the run's workflow; the workflow itself saves the partial reply and sends the final event. */
    async abort(run: RunInfo): Promise<void> {
      try {
        await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () => temporal.workflow.getHandle(run.workflowId).cancel());
      } catch (error) {
        // Already ended (e.g. terminated in the Temporal UI): nothing to stop; the run sweeper closes it
        // within seconds, and the caller waits for that end event.
        if (error instanceof WorkflowNotFoundError || /already completed|not found/i.test((error as Error).message)) {
          log.info({ workflowId: run.workflowId }, 'abort: the workflow had already ended');
          return;
        }
        log.error({ err: error, workflowId: run.workflowId }, 'could not cancel the chat workflow');
        throw new UnavailableError('The chat service is unavailable right now; the reply could not be stopped.');
      }
      log.info({ workflowId: run.workflowId }, 'chat run abort requested');
      // The worker streaming the run stops reading the model now, not at its next heartbeat (shared/run-stops.ts).
      await publishRunStop(redis, keys, run.streamId).catch((error) => log.warn({ err: error, streamId: run.streamId }, 'stop not published; the run stops with its next heartbeat'));
    },
  };
}
export type ChatService = ReturnType<typeof createChatService>;
