import { Message, ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';

/** The most messages a prompt's thread is built from, however long the conversation has grown. */
export const MAX_PROMPT_MESSAGES = 200;
/** Messages read per window query. */
export const THREAD_WINDOW_SIZE = 64;

export interface ThreadMessage {
  messageId: string;
  parentMessageId: string;
  text: string;
  isCreatedByUser: boolean;
  error?: boolean;
  tokenCount?: number;
  /** Absent only on the new user message when it is not saved yet. */
  createdAt?: Date;
  /** Files attached to a user message, as the message keeps them (the id is what the prompt goes by). */
  files?: AttachedFileReference[];
}

/** A file as a message lists it (api/routes/chat.ts saves the owner's own files only). */
export interface AttachedFileReference {
  file_id: string;
  filename?: string;
  type?: string;
}

/** A position in a conversation's (createdAt, messageId) order. */
export interface ThreadPosition {
  createdAt: Date;
  messageId: string;
}

export interface ThreadScope {
  conversationId: string;
  userId: string;
}

/** The reads the loader makes; injectable so a test can count what a prompt costs the database. */
export interface MessageStore {
  findById(scope: ThreadScope, messageId: string): Promise<ThreadMessage | null>;
  /** Up to `limit` messages strictly older than `before` in (createdAt, messageId) order, newest first. */
  findWindow(scope: ThreadScope, before: ThreadPosition, limit: number): Promise<ThreadMessage[]>;
}

const threadProjection = { _id: 0, messageId: 1, parentMessageId: 1, text: 1, isCreatedByUser: 1, error: 1, tokenCount: 1, createdAt: 1, files: 1 };

export const mongoMessageStore: MessageStore = {
  async findById(scope, messageId) {
    return Message.findOne({ messageId, conversationId: scope.conversationId, user: scope.userId }, threadProjection).lean<ThreadMessage>();
  },
  async findWindow(scope, before, limit) {
    // The $lte bound keeps the index scan a range; the $or only settles ties on createdAt.
    return Message.find(
      {
        conversationId: scope.conversationId,
        user: scope.userId,
        createdAt: { $lte: before.createdAt },
        $or: [{ createdAt: { $lt: before.createdAt } }, { messageId: { $lt: before.messageId } }],
      },
      threadProjection,
    )
      .sort({ createdAt: -1, messageId: -1 })
      .limit(limit)
      .lean<ThreadMessage[]>();
  },
};

export interface LoadThreadInput extends ThreadScope {
  /** The newest message of the thread (the one the reply answers). */
  leafId: string;
  /** The new user message, which may not be saved yet; used when it is the leaf. */
  pending?: ThreadMessage;
  /** Stop once the stored token counts of the loaded messages exceed this: older turns would be trimmed anyway. */
  tokenBudget?: number;
  maxMessages?: number;
  windowSize?: number;
  store?: MessageStore;
}

function positionOf(message: ThreadMessage): ThreadPosition | undefined {
  return message.createdAt ? { createdAt: new Date(message.createdAt), messageId: message.messageId } : undefined;
}

/**
 * The thread ending at `leafId`, root first, following `parentMessageId` upwards, without reading the
 * conversation's other branches. It stops at the root, at `maxMessages`, or once the known token
 * counts exceed the budget (so the result may start mid-conversation).
 *
 * The leaf is read by id, older messages in windows of the conversation's order just below it: a
 * thread's messages are usually close together in time, so a window brings many of them in one query.
 * Windows go on while about half of what they bring is on the thread (regenerated replies and edits
 * leave siblings between a thread's messages); once other branches crowd it out, the rest is read by
 * id, one parent per query. So a dense thread costs one query per window, and a sparse one reads the
 * thread plus about two windows of other documents, in at most the thread's length plus a few queries.
 */
export async function loadThread(input: LoadThreadInput): Promise<ThreadMessage[]> {
  const store = input.store ?? mongoMessageStore;
  const maxMessages = input.maxMessages ?? MAX_PROMPT_MESSAGES;
  const windowSize = input.windowSize ?? THREAD_WINDOW_SIZE;
  const tokenBudget = input.tokenBudget ?? Number.POSITIVE_INFINITY;
  const scope: ThreadScope = { conversationId: input.conversationId, userId: input.userId };

  const loaded = new Map<string, ThreadMessage>();
  const thread: ThreadMessage[] = [];
  const seen = new Set<string>();
  /** Documents the windows brought, and how many of them were on the thread. */
  let windowDocuments = 0;
  let windowHits = 0;
  let knownTokens = 0;
  /** The next window reads below this; undefined until the first stored message is known. */
  let windowEnd: ThreadPosition | undefined;
  let windowsExhausted = false;

  async function find(messageId: string): Promise<ThreadMessage | null> {
    if (input.pending?.messageId === messageId) return input.pending;
    for (;;) {
      const cached = loaded.get(messageId);
      if (cached) {
        windowHits += 1;
        return cached;
      }
      if (!windowEnd || windowsExhausted || windowDocuments - windowHits >= windowHits + windowSize) {
        const message = await store.findById(scope, messageId);
        if (message) windowEnd ??= positionOf(message);
        return message;
      }
      const window = await store.findWindow(scope, windowEnd, windowSize);
      windowDocuments += window.length;
      for (const message of window) loaded.set(message.messageId, message);
      if (window.length < windowSize) windowsExhausted = true;
      const oldest = window.at(-1);
      windowEnd = (oldest && positionOf(oldest)) ?? windowEnd;
    }
  }

  let nextId: string = input.leafId;
  while (nextId !== ROOT_PARENT_MESSAGE_ID && thread.length < maxMessages && knownTokens <= tokenBudget && !seen.has(nextId)) {
    seen.add(nextId);
    const message = await find(nextId);
    if (!message) break;
    thread.push(message);
    if (!message.error) knownTokens += message.tokenCount ?? 0;
    nextId = message.parentMessageId;
  }
  return thread.reverse();
}
