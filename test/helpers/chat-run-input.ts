import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import mongoose from 'mongoose';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import { ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';
import { createRedisKeys } from '../../shared/redis-keys.ts';
import { appendUnfenced } from '../../shared/run-stream.ts';

/**
 * A new conversation's first turn on the keyless `demo` endpoint, as the API would start it: fresh ids, the
 * user's message `text`, and the run's `created` event (written by `writeCreated`, as the API does before it
 * starts the workflow). Overrides replace any field.
 */
export function demoTurnInput(text: string, overrides: Partial<ChatRunInput> = {}): ChatRunInput {
  const userMessageId = randomUUID();
  const streamId = overrides.streamId ?? randomUUID();
  const conversationId = overrides.conversationId ?? randomUUID();
  const responseMessageId = overrides.responseMessageId ?? randomUUID();
  return {
    streamId,
    userId: new mongoose.Types.ObjectId().toString(),
    conversationId,
    isNewConversation: true,
    endpoint: 'demo',
    endpointType: 'custom',
    model: 'demo-fast',
    sender: 'Demo',
    parameters: {},
    userMessage: { messageId: userMessageId, parentMessageId: ROOT_PARENT_MESSAGE_ID, text },
    responseMessageId,
    responseParentMessageId: userMessageId,
    generateTitle: false,
    created: { type: 'created', streamId, conversationId, responseMessageId, message: { messageId: userMessageId, text } },
    ...overrides,
  };
}

/** Writes the run's `created` event as the first of its stream; returns the stream's key. */
export async function writeCreated(redis: Redis, keyPrefix: string, input: Pick<ChatRunInput, 'streamId' | 'created'>, ttlSeconds = 300): Promise<string> {
  const streamKey = createRedisKeys(keyPrefix).chatStream(input.streamId);
  await appendUnfenced(redis, streamKey, { seq: 1, event: input.created }, ttlSeconds);
  return streamKey;
}
