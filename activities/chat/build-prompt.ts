import { ApplicationFailure } from '@temporalio/activity';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { DEFAULT_FILES_CONFIG } from '../../shared/file-config.ts';
import type { ActivityDependencies } from '../dependencies.ts';
import type { PromptImage } from '../providers/provider.ts';
import { planAttachments, type AttachedFileStore, type MessageAttachments } from './attached-files.ts';
import { loadPromptImages } from './load-prompt-images.ts';
import { loadThread, type AttachedFileReference, type MessageStore } from './load-thread.ts';

export type PromptMessage = { role: 'system' | 'assistant'; content: string } | { role: 'user'; content: string; images?: PromptImage[] };

const DEFAULT_OUTPUT_TOKENS = 1024;
/** Per-message framing tokens in chat formats (role markers and separators). */
const MESSAGE_OVERHEAD_TOKENS = 4;

export function outputBudget(input: ChatRunInput): number {
  return input.parameters.maxOutputTokens ?? input.parameters.max_tokens ?? DEFAULT_OUTPUT_TOKENS;
}

export type BuildPromptDependencies = Pick<ActivityDependencies, 'countTokens'> &
  Partial<Pick<ActivityDependencies, 'endpoints' | 'fileStorages'>> & {
    messageStore?: MessageStore;
    fileStore?: AttachedFileStore;
    /** How long an attached file still being extracted is waited for (attached-files.ts's default otherwise). */
    attachmentWaitMs?: number;
  };

/** The file references a new user message carries (the API saved the owner's own files only). */
function fileReferences(files: Array<Record<string, unknown>> | undefined): AttachedFileReference[] | undefined {
  const references = (files ?? []).filter((file) => typeof file.file_id === 'string').map((file) => ({ file_id: file.file_id as string, ...(typeof file.filename === 'string' ? { filename: file.filename } : {}) }));
  return references.length > 0 ? references : undefined;
}

/** A user message's text after its files' text and notes (documents first, then the question about them). */
function withAttachments(text: string, attachments: MessageAttachments | undefined): string {
  return attachments?.context ? (text ? `${attachments.context}\n\n${text}` : attachments.context) : text;
}

/**
 * The model's messages for this turn: system text, then the thread ending at the user message, its
 * attached files' text put in and images planned (./attached-files.ts), trimmed from the oldest turn until
 * it fits the context budget (context minus room for the reply). Images are read from storage last, for
 * the turns that stayed. Shared by chat replies and agent model steps.
 */
export async function buildPrompt(input: ChatRunInput, endpoint: ResolvedEndpoint, deps: BuildPromptDependencies, signal?: AbortSignal): Promise<PromptMessage[]> {
  const budget = (input.parameters.maxContextTokens ?? endpoint.maxContextTokens) - outputBudget(input);
  // The new user message may not be saved yet (saveRequest runs alongside this activity). A new
  // conversation's only message is that one: the loader then makes no query at all.
  const thread = await loadThread({
    conversationId: input.conversationId,
    userId: input.userId,
    leafId: input.responseParentMessageId,
    pending: input.userMessage ? { messageId: input.userMessage.messageId, parentMessageId: input.userMessage.parentMessageId, text: input.userMessage.text, files: fileReferences(input.userMessage.files), isCreatedByUser: true } : undefined,
    tokenBudget: budget,
    store: deps.messageStore,
  });
  const kept = thread.filter((message) => !message.error);
  if (kept.length === 0 || !kept.at(-1)!.isCreatedByUser) {
    throw ApplicationFailure.nonRetryable('The message this reply answers was not found', 'PromptUnavailable');
  }
  const systemText = [input.parameters.system, input.parameters.promptPrefix].filter(Boolean).join('\n\n');
  const system: PromptMessage[] = systemText ? [{ role: 'system', content: systemText }] : [];

  // The newest message's files may use what the context leaves beside the system text and the question
  // (bytes bound their tokens from above); older turns are trimmed below if the whole does not fit.
  const question = kept.at(-1)!.text ?? '';
  const room = budget - Buffer.byteLength(systemText) - Buffer.byteLength(question) - 2 * MESSAGE_OVERHEAD_TOKENS;
  const users = kept.filter((message) => message.isCreatedByUser);
  const attachments = await planAttachments(users, input.userId, room, { countTokens: deps.countTokens, fileStore: deps.fileStore, fileTokenLimit: (deps.endpoints?.files ?? DEFAULT_FILES_CONFIG).limits.fileTokenLimit, attachmentWaitMs: deps.attachmentWaitMs }, signal);

  const turns: PromptMessage[] = kept.map((message) => (message.isCreatedByUser ? { role: 'user', content: withAttachments(message.text ?? '', attachments.get(message.messageId)) } : { role: 'assistant', content: message.text ?? '' }));
  const imageCost = [...system.map(() => 0), ...kept.map((message) => (attachments.get(message.messageId)?.images ?? []).reduce((sum, image) => sum + image.tokens, 0))];
  const first = await firstTurnThatFits(input, system, turns, imageCost, budget, deps, signal);
  const prompt = [...system, ...turns.slice(first)];
  await attachImages(prompt, kept.slice(first), attachments, deps, signal);
  return prompt;
}

/** The index of the oldest turn kept: the oldest turns go (never the system text or the newest user message) until the prompt fits. */
async function firstTurnThatFits(input: ChatRunInput, system: PromptMessage[], turns: PromptMessage[], imageCost: number[], budget: number, deps: BuildPromptDependencies, signal?: AbortSignal): Promise<number> {
  const texts = [...system, ...turns].map((message) => message.content);
  // A token covers at least one UTF-8 byte in every BPE tokenizer, so a prompt whose bytes (plus the
  // per-message overhead and the images' estimates) fit the budget fits in tokens too: no round trip to the
  // tokenizer pool on the way to the first token for the usual short thread.
  const byteBound = texts.reduce((sum, text, position) => sum + Buffer.byteLength(text) + MESSAGE_OVERHEAD_TOKENS + imageCost[position]!, 0);
  if (byteBound <= budget) return 0;
  const counts = await deps.countTokens(texts, signal);
  const cost = counts.map((count, position) => count + MESSAGE_OVERHEAD_TOKENS + imageCost[position]!);
  let total = cost.reduce((sum, value) => sum + value, 0);
  let first = 0;
  const systemCost = system.length > 0 ? cost[0]! : 0;
  while (total > budget && first < turns.length - 1) {
    total -= cost[system.length + first]!;
    first += 1;
  }
  if (total > budget) {
    throw ApplicationFailure.nonRetryable(`The message is too long for ${input.model}: ${total - systemCost} tokens with a budget of ${budget - systemCost}`, 'ContextTooLong');
  }
  return first;
}

/** Reads the kept turns' planned images from storage and sets them on their user messages. */
async function attachImages(prompt: PromptMessage[], keptThread: Array<{ messageId: string }>, attachments: Map<string, MessageAttachments>, deps: BuildPromptDependencies, signal?: AbortSignal): Promise<void> {
  const offset = prompt.length - keptThread.length;
  for (const [position, message] of keptThread.entries()) {
    const planned = attachments.get(message.messageId)?.images ?? [];
    const turn = prompt[offset + position]!;
    if (planned.length === 0 || turn.role !== 'user') continue;
    const { images, notes } = await loadPromptImages(planned, deps.fileStorages, signal);
    if (images.length > 0) turn.images = images;
    if (notes.length > 0) turn.content = `${notes.join('\n')}\n\n${turn.content}`;
  }
}
