import { createHash, randomBytes } from 'node:crypto';
import { decodeCursor, encodeCursor, isDateString } from './keyset-cursor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { Message, ROOT_PARENT_MESSAGE_ID, SharedLink } from '../../shared/models/index.ts';
import type { ConversationService } from './conversation-service.ts';
import { threadUpTo } from './share-thread.ts';

export interface ListSharedLinksInput {
  cursor?: string;
  pageSize: number;
  sortBy: 'createdAt' | 'title';
  sortDirection: 'asc' | 'desc';
  search?: string;
}

type LeanSharedLink = {
  shareId: string;
  conversationId: string;
  user: string;
  title: string;
  messageIds: string[];
  targetMessageId?: string;
  isPublic: boolean;
  createdAt: Date;
  updatedAt: Date;
};
type LeanMessage = Record<string, unknown> & { messageId: string; parentMessageId?: string; model?: string };
interface Cursor {
  value: string;
  shareId: string;
}

/** URL-safe and unguessable, like LibreChat's nanoid() ids. */
const newShareId = () => randomBytes(16).toString('base64url');

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replacement ids for the public view: derived from the share id and the real id, so each id maps to the
 * same replacement everywhere in an answer and on every load of the link, while links of the same
 * conversation (or a refreshed link) cannot be matched up. The real ids are random UUIDs, so the hash
 * cannot be walked back. LibreChat uses random ids per load instead.
 */
function anonymousId(shareId: string, prefix: string, id: string) {
  return `${prefix}_${createHash('sha256').update(`${shareId}:${prefix}:${id}`).digest('base64url').slice(0, 21)}`;
}

/** Message fields the public view never carries: the owner and storage internals. */
function withoutOwner(entry: unknown): unknown {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return entry;
  const { user: _user, _id: _objectId, __v: _version, ...rest } = entry as Record<string, unknown>;
  return rest;
}

/** LibreChat's `anonymizeMessages`: new message and conversation ids, parents rewired, the owner removed. */
export function anonymizeMessages(shareId: string, messages: LeanMessage[], conversationId: string) {
  const messageId = (id: string | undefined) => (!id || id === ROOT_PARENT_MESSAGE_ID ? ROOT_PARENT_MESSAGE_ID : anonymousId(shareId, 'msg', id));
  return messages.map((message) => {
    const { user: _user, _id: _objectId, __v: _version, ...rest } = message;
    const newId = messageId(message.messageId);
    const attachments = Array.isArray(rest.attachments)
      ? rest.attachments.map((attachment) => ({ ...(withoutOwner(attachment) as object), messageId: newId, conversationId }))
      : rest.attachments;
    return {
      ...rest,
      messageId: newId,
      parentMessageId: messageId(message.parentMessageId),
      conversationId,
      // Assistants' ids name the owner's resources.
      model: message.model?.startsWith('asst_') ? anonymousId(shareId, 'a', message.model) : message.model,
      ...(Array.isArray(rest.files) ? { files: rest.files.map(withoutOwner) } : {}),
      ...(attachments !== undefined ? { attachments } : {}),
    };
  });
}

/** Share links as LibreChat keeps them: one per conversation, a snapshot of its message ids, public by id. */
export function createShareService(dependencies: { conversations: Pick<ConversationService, 'requireOwned'> }) {
  const { conversations } = dependencies;

  async function messageIdsOf(userId: string, conversationId: string) {
    const messages = await Message.find({ user: userId, conversationId }, { messageId: 1 }).sort({ createdAt: 1, messageId: 1 }).lean<LeanMessage[]>();
    return messages.map((message) => message.messageId);
  }

  async function requireOwnedLink(userId: string, shareId: string) {
    const link = await SharedLink.findOne({ shareId, user: userId }).lean<LeanSharedLink>();
    if (!link) throw new NotFoundError('Share not found');
    return link;
  }

  async function requirePublic(shareId: string) {
    const link = await SharedLink.findOne({ shareId, isPublic: true }).lean<LeanSharedLink>();
    if (!link) throw new NotFoundError('Share not found');
    return link;
  }

  function requireTarget(messageIds: string[], targetMessageId: string | undefined) {
    if (targetMessageId !== undefined && !messageIds.includes(targetMessageId)) throw new ValidationError('targetMessageId: is not a message of this conversation');
  }

  return {
    requirePublic,

    async create(userId: string, conversationId: string, targetMessageId?: string) {
      const conversation = await conversations.requireOwned(userId, conversationId);
      if (await SharedLink.exists({ user: userId, conversationId })) throw new ConflictError('Share already exists', 'SHARE_EXISTS');
      const messageIds = await messageIdsOf(userId, conversationId);
      if (messageIds.length === 0) throw new ValidationError('No messages to share', 'NO_MESSAGES');
      requireTarget(messageIds, targetMessageId);
      const shareId = newShareId();
      try {
        await SharedLink.create({ shareId, conversationId, user: userId, title: (conversation.title as string | undefined) || 'Untitled', messageIds, targetMessageId, isPublic: true });
      } catch (error) {
        if ((error as { code?: number }).code === 11000) throw new ConflictError('Share already exists', 'SHARE_EXISTS');
        throw error;
      }
      return { shareId, conversationId, ...(targetMessageId ? { targetMessageId } : {}) };
    },

    async getForConversation(userId: string, conversationId: string) {
      const link = await SharedLink.findOne({ user: userId, conversationId }).lean<LeanSharedLink>();
      return link
        ? { success: true, shareId: link.shareId, conversationId, ...(link.targetMessageId ? { targetMessageId: link.targetMessageId } : {}) }
        : { success: false, shareId: null, conversationId };
    },

    /** Keyset pages on (sortBy, shareId), so equal titles or times neither repeat nor vanish between pages. */
    async list(userId: string, input: ListSharedLinksInput) {
      const direction = input.sortDirection === 'asc' ? 1 : -1;
      const filter: Record<string, unknown> = { user: userId, isPublic: true };
      if (input.search) filter.title = { $regex: escapeRegex(input.search), $options: 'i' };
      if (input.cursor) {
        const cursor = decodeCursor<Cursor>(
          input.cursor,
          (value) => typeof value.shareId === 'string' && typeof value.value === 'string' && (input.sortBy === 'title' || isDateString(value.value)),
        );
        const comparison = direction === 1 ? '$gt' : '$lt';
        const at = input.sortBy === 'createdAt' ? new Date(cursor.value) : cursor.value;
        filter.$or = [{ [input.sortBy]: { [comparison]: at } }, { [input.sortBy]: at, shareId: { [comparison]: cursor.shareId } }];
      }
      const page = await SharedLink.find(filter)
        .sort({ [input.sortBy]: direction, shareId: direction })
        .limit(input.pageSize + 1)
        .lean<LeanSharedLink[]>();
      const hasNextPage = page.length > input.pageSize;
      const links = page.slice(0, input.pageSize);
      const last = links.at(-1);
      const lastValue = last && (input.sortBy === 'createdAt' ? new Date(last.createdAt).toISOString() : last.title);
      return {
        links: links.map((link) => ({ shareId: link.shareId, title: link.title || 'Untitled', isPublic: link.isPublic, createdAt: link.createdAt, conversationId: link.conversationId })),
        nextCursor: hasNextPage && last ? encodeCursor({ value: lastValue, shareId: last.shareId }) : null,
        hasNextPage,
      };
    },

    /**
     * The public view (no login): the link's messages as they are now, anonymised. A link whose conversation
     * was deleted shows nothing, so it answers 404 like an unknown link.
     */
    async getPublic(shareId: string) {
      const link = await requirePublic(shareId);
      const stored = await Message.find({ user: link.user, conversationId: link.conversationId, messageId: { $in: link.messageIds } })
        .sort({ createdAt: 1, messageId: 1 })
        .lean<LeanMessage[]>();
      if (stored.length === 0) throw new NotFoundError('Share not found');
      const messages = link.targetMessageId ? threadUpTo(stored, link.targetMessageId) : stored;
      const conversationId = anonymousId(link.shareId, 'convo', link.conversationId);
      return {
        shareId: link.shareId,
        title: link.title,
        isPublic: link.isPublic,
        createdAt: link.createdAt,
        updatedAt: link.updatedAt,
        conversationId,
        messages: anonymizeMessages(link.shareId, messages, conversationId),
      };
    },

    /** LibreChat's refresh: the conversation's current messages and a new share id (the old URL stops working). */
    async refresh(userId: string, shareId: string, targetMessageId?: string) {
      const link = await requireOwnedLink(userId, shareId);
      const messageIds = await messageIdsOf(userId, link.conversationId);
      requireTarget(messageIds, targetMessageId);
      const nextShareId = newShareId();
      const set: Record<string, unknown> = { shareId: nextShareId, messageIds };
      if (targetMessageId !== undefined) set.targetMessageId = targetMessageId;
      const { matchedCount } = await SharedLink.updateOne({ shareId, user: userId }, { $set: set });
      if (matchedCount === 0) throw new NotFoundError('Share not found');
      const target = targetMessageId ?? link.targetMessageId;
      return { shareId: nextShareId, conversationId: link.conversationId, ...(target ? { targetMessageId: target } : {}) };
    },

    async remove(userId: string, shareId: string) {
      const { deletedCount } = await SharedLink.deleteOne({ shareId, user: userId });
      if (deletedCount === 0) throw new NotFoundError('Share not found');
      return { success: true, shareId, message: 'Share deleted successfully' };
    },
  };
}

export type ShareService = ReturnType<typeof createShareService>;
