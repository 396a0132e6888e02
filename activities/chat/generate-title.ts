import { Context } from '@temporalio/activity';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import { Conversation, Message } from '../../shared/models/index.ts';
import { chargeCompletion } from '../../shared/run-charge.ts';
import { conversationChange, recordSearchChanges } from '../../shared/search-changes.ts';
import { runEndpoint } from '../providers/run-endpoint.ts';
import type { ChatActivityDependencies } from '../dependencies.ts';

const TITLE_SYSTEM_PROMPT =
  'Write a concise conversation title of at most 7 words for the exchange below. Answer with the title only: no quotes, no punctuation at the end.';
const TITLE_CACHE_SECONDS = 120;

/**
 * A short, non-streaming model call after the first reply of a new conversation. The title is saved
 * on the conversation (unless the user renamed it meanwhile) and cached for `gen_title`.
 */
export function createGenerateTitle(deps: ChatActivityDependencies) {
  return async function generateTitle(input: ChatRunInput, replyExcerpt?: string): Promise<string> {
    return titleConversation(deps, input, replyExcerpt, Context.current().cancellationSignal);
  };
}

/** The title call and its writes: the background activity above, and streamTurn right after it closed the run. */
export async function titleConversation(deps: ChatActivityDependencies, input: ChatRunInput, replyExcerpt: string | undefined, signal: AbortSignal, options: { recordSearchChanges?: boolean } = {}): Promise<string> {
  const { endpoint, provider } = await runEndpoint(deps, input);
  // Runs recorded before finishRun returned the excerpt pass none: read the reply then.
  const reply = replyExcerpt ?? (await Message.findOne({ messageId: input.responseMessageId, user: input.userId }, { text: 1 }).lean<{ text: string }>())?.text ?? '';
  const exchange = `User: ${(input.userMessage?.text ?? '').slice(0, 2000)}\nAssistant: ${reply.slice(0, 2000)}`;
  const model = endpoint.titleModel ?? input.model;
  const completion = await provider.complete({
    endpoint,
    model,
    messages: [{ role: 'system', content: TITLE_SYSTEM_PROMPT }, { role: 'user', content: exchange }],
    maxOutputTokens: 32,
    temperature: 0.2,
    signal,
  });
  // Titles cost tokens too (LibreChat charges them with context `title`): once per run, keyed by it.
  if (deps.balance?.enabled) {
    await chargeCompletion(
      deps.balance,
      { userId: input.userId, chargeId: `title-${input.streamId}`, conversationId: input.conversationId, model, context: 'title', usage: completion.usage, promptText: `${TITLE_SYSTEM_PROMPT}\n${exchange}`, completionText: completion.text },
      deps.countTokens,
    );
  }
  const title = completion.text.replace(/^["'\s]+|["'.\s]+$/g, '').replace(/\s+/g, ' ').slice(0, 80) || 'New Chat';
  await Conversation.updateOne({ conversationId: input.conversationId, user: input.userId, title: 'New Chat' }, { $set: { title } });
  // streamTurn records the conversation with the turn's other changes, in one insert, right after this.
  if (options.recordSearchChanges !== false) await recordSearchChanges([conversationChange(input.userId, input.conversationId)]);
  // The cache only serves the client's gen_title poll (it falls back to the conversation): its failure must not
  // make a retry generate a second, different title for the memo.
  await deps.redis.set(deps.keys.generatedTitle(input.userId, input.conversationId), title, 'EX', TITLE_CACHE_SECONDS).catch(() => undefined);
  return title;
}

