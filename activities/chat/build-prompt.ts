import { ApplicationFailure } from '@temporalio/activity';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { Message } from '../../shared/models/index.ts';
import type { ActivityDependencies } from '../dependencies.ts';

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const DEFAULT_OUTPUT_TOKENS = 1024;
/** Per-message framing tokens in chat formats (role markers and separators). */
const MESSAGE_OVERHEAD_TOKENS = 4;

interface StoredMessage {
  messageId: string;
  parentMessageId: string;
  text: string;
  isCreatedByUser: boolean;
  error?: boolean;
}

/** The thread from the root to `leafId`, following `parentMessageId` (siblings are other branches). */
export function threadTo(messages: StoredMessage[], leafId: string): StoredMessage[] {
  const byId = new Map(messages.map((message) => [message.messageId, message]));
  const thread: StoredMessage[] = [];
  const seen = new Set<string>();
  let current = byId.get(leafId);
  while (current && !seen.has(current.messageId)) {
    seen.add(current.messageId);
    thread.unshift(current);
    current = byId.get(current.parentMessageId);
  }
  return thread;
}

export function outputBudget(input: ChatRunInput): number {
  return input.parameters.maxOutputTokens ?? input.parameters.max_tokens ?? DEFAULT_OUTPUT_TOKENS;
}

/**
 * The model's messages for this turn: system text, then the thread ending at the user message,
 * trimmed from the oldest turn until it fits the context budget (context minus room for the reply).
 */
export async function buildPrompt(input: ChatRunInput, endpoint: ResolvedEndpoint, deps: Pick<ActivityDependencies, 'countTokens'>, signal?: AbortSignal): Promise<PromptMessage[]> {
  // A new conversation has no history yet: its only message is the one in the input.
  const stored =
    input.isNewConversation && input.userMessage
      ? []
      : await Message.find({ conversationId: input.conversationId, user: input.userId }, { messageId: 1, parentMessageId: 1, text: 1, isCreatedByUser: 1, error: 1 }).lean<StoredMessage[]>();
  // The new user message may not be saved yet (saveRequest runs alongside this activity).
  if (input.userMessage && !stored.some((message) => message.messageId === input.userMessage!.messageId)) {
    stored.push({ ...input.userMessage, isCreatedByUser: true });
  }
  const thread = threadTo(stored, input.responseParentMessageId).filter((message) => !message.error);
  const turns: PromptMessage[] = thread.map((message) => ({ role: message.isCreatedByUser ? 'user' : 'assistant', content: message.text ?? '' }));
  if (turns.length === 0 || turns.at(-1)!.role !== 'user') {
    throw ApplicationFailure.nonRetryable('The message this reply answers was not found', 'PromptUnavailable');
  }
  const systemText = [input.parameters.system, input.parameters.promptPrefix].filter(Boolean).join('\n\n');
  const system: PromptMessage[] = systemText ? [{ role: 'system', content: systemText }] : [];

  const budget = (input.parameters.maxContextTokens ?? endpoint.maxContextTokens) - outputBudget(input);
  const counts = await deps.countTokens([...system, ...turns].map((message) => message.content), signal);
  const cost = counts.map((count) => count + MESSAGE_OVERHEAD_TOKENS);
  let total = cost.reduce((sum, value) => sum + value, 0);
  let first = 0;
  const systemCost = system.length > 0 ? cost[0]! : 0;
  // Drop the oldest turns (never the system text or the newest user message) until the prompt fits.
  while (total > budget && first < turns.length - 1) {
    total -= cost[system.length + first]!;
    first += 1;
  }
  if (total > budget) {
    throw ApplicationFailure.nonRetryable(
      `The message is too long for ${input.model}: ${total - systemCost} tokens with a budget of ${budget - systemCost}`,
      'ContextTooLong',
    );
  }
  return [...system, ...turns.slice(first)];
}
