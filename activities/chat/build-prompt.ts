import { ApplicationFailure } from '@temporalio/activity';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import type { ActivityDependencies } from '../dependencies.ts';
import { loadThread, type MessageStore } from './load-thread.ts';

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const DEFAULT_OUTPUT_TOKENS = 1024;
/** Per-message framing tokens in chat formats (role markers and separators). */
const MESSAGE_OVERHEAD_TOKENS = 4;

export function outputBudget(input: ChatRunInput): number {
  return input.parameters.maxOutputTokens ?? input.parameters.max_tokens ?? DEFAULT_OUTPUT_TOKENS;
}

/**
 * The model's messages for this turn: system text, then the thread ending at the user message,
 * trimmed from the oldest turn until it fits the context budget (context minus room for the reply).
 */
export async function buildPrompt(
  input: ChatRunInput,
  endpoint: ResolvedEndpoint,
  deps: Pick<ActivityDependencies, 'countTokens'> & { messageStore?: MessageStore },
  signal?: AbortSignal,
): Promise<PromptMessage[]> {
  const budget = (input.parameters.maxContextTokens ?? endpoint.maxContextTokens) - outputBudget(input);
  // The new user message may not be saved yet (saveRequest runs alongside this activity). A new
  // conversation's only message is that one: the loader then makes no query at all.
  const thread = await loadThread({
    conversationId: input.conversationId,
    userId: input.userId,
    leafId: input.responseParentMessageId,
    pending: input.userMessage ? { ...input.userMessage, isCreatedByUser: true } : undefined,
    tokenBudget: budget,
    store: deps.messageStore,
  });
  const turns: PromptMessage[] = thread.filter((message) => !message.error).map((message) => ({ role: message.isCreatedByUser ? 'user' : 'assistant', content: message.text ?? '' }));
  if (turns.length === 0 || turns.at(-1)!.role !== 'user') {
    throw ApplicationFailure.nonRetryable('The message this reply answers was not found', 'PromptUnavailable');
  }
  const systemText = [input.parameters.system, input.parameters.promptPrefix].filter(Boolean).join('\n\n');
  const system: PromptMessage[] = systemText ? [{ role: 'system', content: systemText }] : [];

  const texts = [...system, ...turns].map((message) => message.content);
  // A token covers at least one UTF-8 byte in every BPE tokenizer, so a prompt whose bytes (plus the
  // per-message overhead) fit the budget fits in tokens too: no round trip to the tokenizer pool on the
  // way to the first token for the usual short thread.
  const byteBound = texts.reduce((sum, text) => sum + Buffer.byteLength(text) + MESSAGE_OVERHEAD_TOKENS, 0);
  if (byteBound <= budget) return [...system, ...turns];
  const counts = await deps.countTokens(texts, signal);
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
