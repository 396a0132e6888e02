import type { Model } from 'mongoose';
import { decodeCursor, encodeCursor, isDateString } from './keyset-cursor.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import { Conversation, ConversationTag, Message, SharedLink } from '../../shared/models/index.ts';
import { publicDocument } from '../../shared/public-document.ts';
import { changesMatching, conversationChange, recordSearchChanges } from '../../shared/search-changes.ts';

export interface ListConversationsInput {
  cursor?: string;
  limit: number;
  isArchived: boolean;
  tags?: string[];
  order: 'asc' | 'desc';
}

interface Cursor {
  updatedAt: string;
  conversationId: string;
}

type LeanConversation = Record<string, unknown> & { conversationId: string; updatedAt: Date };


export function createConversationService() {
  async function requireOwned(userId: string, conversationId: string) {
    const conversation = await Conversation.findOne({ conversationId, user: userId }).lean<LeanConversation>();
    if (!conversation) throw new NotFoundError('Conversation not found');
    return conversation;
  }

  return {
    requireOwned,

    /**
     * Keyset pagination on (updatedAt, conversationId): stable while conversations are being updated,
     * unlike skip/limit. The cursor is opaque to the client.
     */
    async list(userId: string, input: ListConversationsInput) {
      const direction = input.order === 'asc' ? 1 : -1;
      const filter: Record<string, unknown> = { user: userId };
      // Old documents may lack isArchived; "not archived" must include them.
      filter.isArchived = input.isArchived ? true : { $ne: true };
      if (input.tags?.length) filter.tags = { $in: input.tags };
      if (input.cursor) {
        const cursor = decodeCursor<Cursor>(input.cursor, (cursor) => typeof cursor.conversationId === 'string' && isDateString(cursor.updatedAt));
        const comparison = direction === -1 ? '$lt' : '$gt';
        const at = new Date(cursor.updatedAt);
        filter.$or = [{ updatedAt: { [comparison]: at } }, { updatedAt: at, conversationId: { [comparison]: cursor.conversationId } }];
      }
      const page = await Conversation.find(filter)
        .sort({ updatedAt: direction, conversationId: direction })
        .limit(input.limit + 1)
        .lean<LeanConversation[]>();
      const hasMore = page.length > input.limit;
      const conversations = page.slice(0, input.limit);
      const last = conversations.at(-1);
      return {
        conversations: conversations.map(publicDocument),
        nextCursor: hasMore && last ? encodeCursor({ updatedAt: new Date(last.updatedAt).toISOString(), conversationId: last.conversationId }) : null,
      };
    },

    async get(userId: string, conversationId: string) {
      return publicDocument(await requireOwned(userId, conversationId));
    },

    async update(userId: string, conversationId: string, changes: { title?: string; isArchived?: boolean; tags?: string[] }) {
      const updated = await Conversation.findOneAndUpdate({ conversationId, user: userId }, { $set: changes }, { returnDocument: 'after' }).lean<LeanConversation>();
      if (!updated) throw new NotFoundError('Conversation not found');
      await recordSearchChanges([conversationChange(userId, conversationId)]);
      return publicDocument(updated);
    },

    /**
     * Messages and share links go first: a failure half-way leaves a conversation that can be deleted again,
     * never orphans. Bookmark counts are recounted after, as LibreChat's tag counts follow deletions.
     */
    async remove(userId: string, conversationIds: string[]) {
      // Each conversation by its id, in reads and deletes: `conversationId: {$in}` made FerretDB read every
      // message and conversation of the user, twice per deletion (shared/find-each-id.ts).
      const ofConversation = (conversationId: string) => ({ user: userId, conversationId });
      const ofConversations = (many: string[]) => ({ user: userId, conversationId: { $in: many } });
      const owned = await findEachId(conversationIds, (conversationId) => Conversation.find(ofConversation(conversationId), { conversationId: 1, tags: 1 }).lean<LeanConversation[]>(), {
        manyIds: (many) => Conversation.find(ofConversations(many), { conversationId: 1, tags: 1 }).lean<LeanConversation[]>(),
      });
      const ids = owned.map((conversation) => conversation.conversationId);
      if (ids.length === 0) throw new NotFoundError('Conversation not found');
      const deleteEach = (model: Model<any>) => model.bulkWrite(ids.map((id) => ({ deleteMany: { filter: ofConversation(id) } })), { ordered: false });
      await deleteEach(SharedLink);
      // The index learns of each deleted message by id (the database has nothing left to name them by).
      const removedMessages = await findEachId(ids, (id) => changesMatching('message', Message, ofConversation(id)), { manyIds: (many) => changesMatching('message', Message, ofConversations(many)) });
      const messages = await deleteEach(Message);
      const conversations = await deleteEach(Conversation);
      await recordSearchChanges([...ids.map((id) => conversationChange(userId, id)), ...removedMessages]);
      for (const tag of new Set(owned.flatMap((conversation) => (Array.isArray(conversation.tags) ? (conversation.tags as string[]) : [])))) {
        await ConversationTag.updateOne({ user: userId, tag }, { $set: { count: await Conversation.countDocuments({ user: userId, tags: tag }) } });
      }
      return { acknowledged: true, deletedCount: conversations.deletedCount, messages: { deletedCount: messages.deletedCount } };
    },

    async removeAll(userId: string) {
      await SharedLink.deleteMany({ user: userId });
      const removed = [...(await changesMatching('conversation', Conversation, { user: userId })), ...(await changesMatching('message', Message, { user: userId }))];
      const messages = await Message.deleteMany({ user: userId });
      const conversations = await Conversation.deleteMany({ user: userId });
      await recordSearchChanges(removed);
      await ConversationTag.updateMany({ user: userId }, { $set: { count: 0 } });
      return { acknowledged: true, deletedCount: conversations.deletedCount, messages: { deletedCount: messages.deletedCount } };
    },
  };
}
export type ConversationService = ReturnType<typeof createConversationService>;
