import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { chatWorkflowId, type ChatRunInput, type ConversationParameters } from '../../shared/chat-run.ts';
import { appendEntry } from '../../shared/chat-stream.ts';
import type { Config } from '../../shared/config.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../../shared/errors.ts';
import { Message, ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import type { RunInfo, RunRegistry } from '../../shared/run-registry.ts';
import type { ConversationService } from './conversation-service.ts';

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
}

export type StartedRun = { refused: false; run: RunInfo; created: Record<string, unknown> } | { refused: true; created: Record<string, unknown>; message: string };

type LeanMessage = { messageId: string; parentMessageId: string; text: string; isCreatedByUser: boolean; conversationId: string };

const START_DEADLINE_MS = 5000;

export function createChatService(deps: {
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'CONCURRENT_MESSAGE_MAX' | 'CHAT_STREAM_MAXLEN'>;
  endpoints: EndpointsConfig;
  temporal: Client;
  redis: Redis;
  keys: RedisKeys;
  runs: RunRegistry;
  conversations: Pick<ConversationService, 'requireOwned'>;
  log: FastifyBaseLogger;
}) {
  const { config, temporal, redis, keys, runs, log } = deps;

  async function requireMessage(userId: string, conversationId: string, messageId: string): Promise<LeanMessage> {
    const message = await Message.findOne({ messageId, conversationId, user: userId }).lean<LeanMessage>();
    if (!message) throw new NotFoundError('Message not found');
    return message;
  }

  return {
    /**
     * Validates the turn, reserves a run slot, writes the `created` event and starts the workflow.
     * Nothing is written to the database here: the workflow's first activity does that, so when
     * Temporal cannot be reached the user gets a 503 and no half-saved turn.
     */
    async start(userId: string, request: ChatRequest): Promise<StartedRun> {
      const endpoint = deps.endpoints.endpoints.find((candidate) => candidate.name === request.endpoint);
      if (!endpoint) throw new ValidationError(`endpoint: "${request.endpoint}" is not configured`);
      if (!endpoint.models.includes(request.model)) throw new ValidationError(`model: "${request.model}" is not offered by ${endpoint.name}`);

      const isNewConversation = !request.conversationId || request.conversationId === 'new';
      const conversationId = isNewConversation ? randomUUID() : request.conversationId!;
      if (!isNewConversation) await deps.conversations.requireOwned(userId, conversationId);
      if (isNewConversation && (request.isRegenerate || request.isContinued)) throw new ValidationError('conversationId: regenerate and continue need an existing conversation');

      let userMessage: ChatRunInput['userMessage'];
      let responseParentMessageId: string;
      let responseMessageId: string = randomUUID();
      let continuedText: string | undefined;
      let createdMessage: Record<string, unknown>;

      if (request.isContinued) {
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
        userMessage = { messageId: randomUUID(), parentMessageId, text: request.text };
        responseParentMessageId = userMessage.messageId;
        createdMessage = { messageId: userMessage.messageId, parentMessageId, conversationId, sender: 'User', text: request.text, isCreatedByUser: true };
      }

      const streamId = randomUUID();
      const created = {
        message: { ...createdMessage, _id: undefined, user: undefined },
        created: true,
        streamId,
        conversationId,
        responseMessageId,
      };
      if (!(await runs.reserveSlot(userId, streamId, config.CONCURRENT_MESSAGE_MAX))) {
        log.info({ userId }, 'chat refused: concurrent run limit');
        return { refused: true, created, message: `You can run at most ${config.CONCURRENT_MESSAGE_MAX} replies at once. Wait for one to finish and try again.` };
      }

      const workflowId = chatWorkflowId(responseMessageId, request.isContinued ? streamId : undefined);
      const run: RunInfo = { streamId, userId, conversationId, responseMessageId, workflowId, status: 'running', createdAt: new Date().toISOString() };
      const input: ChatRunInput = {
        streamId,
        userId,
        conversationId,
        isNewConversation,
        endpoint: endpoint.name,
        endpointType: endpoint.type,
        model: request.model,
        sender: endpoint.modelDisplayLabel ?? request.model,
        parameters: request.parameters,
        userMessage,
        responseMessageId,
        responseParentMessageId,
        continuedText,
        generateTitle: isNewConversation && endpoint.titleConvo,
      };
      try {
        await Promise.all([runs.register(run), appendEntry(redis, keys.chatStream(streamId), config.CHAT_STREAM_MAXLEN, 'message', created)]);
        await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
          temporal.workflow.start('chatWorkflow', {
            workflowId,
            taskQueue: config.TEMPORAL_TASK_QUEUE,
            args: [input],
            // A run that cannot finish within this bound is failed by Temporal, never left hanging.
            workflowExecutionTimeout: '25 minutes',
            memo: { conversationId, streamId },
          }),
        );
      } catch (error) {
        await runs.discard(run).catch((cleanupError) => log.error({ err: cleanupError }, 'cleanup after failed start failed'));
        if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError('This reply is already being generated');
        log.error({ err: error, workflowId }, 'could not start the chat workflow');
        throw new UnavailableError('The chat service is unavailable right now; your message was not saved. Please try again.');
      }
      log.info({ workflowId, streamId, conversationId, model: request.model }, 'chat run started');
      return { refused: false, run, created };
    },

    /** Cancels the run's workflow; the workflow itself saves the partial reply and sends the final event. */
    async abort(run: RunInfo): Promise<void> {
      try {
        await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () => temporal.workflow.getHandle(run.workflowId).cancel());
      } catch (error) {
        log.error({ err: error, workflowId: run.workflowId }, 'could not cancel the chat workflow');
        throw new UnavailableError('The chat service is unavailable right now; the reply could not be stopped.');
      }
      log.info({ workflowId: run.workflowId }, 'chat run abort requested');
    },
  };
}
export type ChatService = ReturnType<typeof createChatService>;
