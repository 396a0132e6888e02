import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { Conversation, ConversationTag } from '../../shared/models/index.ts';
import { insertIfAbsent } from '../../shared/insert-if-absent.ts';
import { changesMatching, conversationChange, recordSearchChanges } from '../../shared/search-changes.ts';
import type { ConversationService } from './conversation-service.ts';

/** The most bookmarks one user keeps; the list is loaded whole on every page. */
export const MAX_TAGS_PER_USER = 100;

type LeanTag = Record<string, unknown> & { tag: string; position: number };

/** A tag as LibreChat answers it (`TConversationTag`): its `_id` as a string, no `__v`. */
function tagView(tag: LeanTag): Record<string, unknown> {
  const { __v: _version, ...rest } = tag;
  return { ...rest, _id: String(tag._id) };
}

/**
 * Bookmarks as LibreChat keeps them: a ConversationTag per (user, tag) and the tag names in each
 * conversation's `tags`. There are no transactions (FerretDB), so every change that touches both writes the
 * conversations first and then recounts, rather than incrementing: a retry after a failure half-way
 * repairs the counts instead of drifting them.
 */
export function createTagService(dependencies: { conversations: Pick<ConversationService, 'requireOwned'> }) {
  const { conversations } = dependencies;

  async function recount(userId: string, tags: Iterable<string>) {
    for (const tag of new Set(tags)) {
      const count = await Conversation.countDocuments({ user: userId, tags: tag });
      await ConversationTag.updateOne({ user: userId, tag }, { $set: { count } });
    }
  }

  /** Adds tags the user does not have yet at the end of their list, within the limit. */
  async function ensureTags(userId: string, tags: string[], description?: string) {
    const existing = await ConversationTag.find({ user: userId, tag: { $in: tags } }, { tag: 1 }).lean<LeanTag[]>();
    const known = new Set(existing.map((tag) => tag.tag));
    const missing = tags.filter((tag) => !known.has(tag));
    if (missing.length === 0) return;
    const total = await ConversationTag.countDocuments({ user: userId });
    if (total + missing.length > MAX_TAGS_PER_USER) throw new ValidationError(`tag: at most ${MAX_TAGS_PER_USER} bookmarks per user`);
    const last = await ConversationTag.findOne({ user: userId }).sort({ position: -1 }).lean<LeanTag>();
    let position = last ? last.position + 1 : 0;
    for (const tag of missing) {
      await insertIfAbsent(ConversationTag, { user: userId, tag, position, count: 0, ...(description !== undefined ? { description } : {}) });
      position += 1;
    }
  }

  async function requireTag(userId: string, tag: string) {
    const found = await ConversationTag.findOne({ user: userId, tag }).lean<LeanTag>();
    if (!found) throw new NotFoundError('Tag not found');
    return found;
  }

  /**
   * Moves the tags between two positions up or down by one, so `position` stays a dense order. Positions
   * count from 0 because the client's drag and drop sends the row's 0-based index (LibreChat's server
   * counts from 1, which makes a dropped row land one place off).
   */
  async function shiftPositions(userId: string, from: number, to: number) {
    if (from === to) return;
    if (from < to) await ConversationTag.updateMany({ user: userId, position: { $gt: from, $lte: to } }, { $inc: { position: -1 } });
    else await ConversationTag.updateMany({ user: userId, position: { $gte: to, $lt: from } }, { $inc: { position: 1 } });
  }

  return {
    async list(userId: string) {
      const tags = await ConversationTag.find({ user: userId }).sort({ position: 1, tag: 1 }).lean<LeanTag[]>();
      return tags.map(tagView);
    },

    /** An existing tag is answered as it is, as LibreChat does (the client creates from a free-text box). */
    async create(userId: string, input: { tag: string; description?: string; addToConversation?: boolean; conversationId?: string }) {
      const addTo = input.addToConversation && input.conversationId ? input.conversationId : undefined;
      if (addTo) await conversations.requireOwned(userId, addTo);
      await ensureTags(userId, [input.tag], input.description);
      if (addTo) {
        await Conversation.updateOne({ user: userId, conversationId: addTo }, { $addToSet: { tags: input.tag } });
        await recordSearchChanges([conversationChange(userId, addTo)]);
        await recount(userId, [input.tag]);
      }
      return tagView(await requireTag(userId, input.tag));
    },

    async update(userId: string, oldTag: string, changes: { tag?: string; description?: string; position?: number }) {
      const existing = await requireTag(userId, oldTag);
      const renamed = changes.tag !== undefined && changes.tag !== oldTag ? changes.tag : undefined;
      if (renamed !== undefined) {
        if (await ConversationTag.exists({ user: userId, tag: renamed })) throw new ConflictError('Tag already exists');
        // Two steps, not the positional `tags.$` (FerretDB lacks it); each is safe to repeat.
        const tagged = await changesMatching('conversation', Conversation, { user: userId, tags: oldTag });
        await Conversation.updateMany({ user: userId, tags: oldTag }, { $addToSet: { tags: renamed } });
        await Conversation.updateMany({ user: userId, tags: oldTag }, { $pull: { tags: oldTag } });
        await recordSearchChanges(tagged);
      }
      const set: Record<string, unknown> = {};
      if (renamed !== undefined) set.tag = renamed;
      if (changes.description !== undefined) set.description = changes.description;
      if (changes.position !== undefined) {
        const total = await ConversationTag.countDocuments({ user: userId });
        const position = Math.min(Math.max(changes.position, 0), Math.max(total - 1, 0));
        await shiftPositions(userId, existing.position, position);
        set.position = position;
      }
      if (Object.keys(set).length > 0) {
        try {
          await ConversationTag.updateOne({ _id: existing._id }, { $set: set });
        } catch (error) {
          // The new name was taken by a request that ran alongside this one.
          if ((error as { code?: number }).code === 11000) throw new ConflictError('Tag already exists');
          throw error;
        }
      }
      const name = renamed ?? oldTag;
      if (renamed !== undefined) await recount(userId, [name]);
      return tagView(await requireTag(userId, name));
    },

    async remove(userId: string, tag: string) {
      const existing = await requireTag(userId, tag);
      const tagged = await changesMatching('conversation', Conversation, { user: userId, tags: tag });
      await Conversation.updateMany({ user: userId, tags: tag }, { $pull: { tags: tag } });
      await recordSearchChanges(tagged);
      await ConversationTag.deleteOne({ _id: existing._id });
      await ConversationTag.updateMany({ user: userId, position: { $gt: existing.position } }, { $inc: { position: -1 } });
      return tagView(existing);
    },

    /** Sets a conversation's tags; new names become bookmarks, and every tag added or removed is recounted. */
    async setForConversation(userId: string, conversationId: string, tags: string[]) {
      const conversation = await conversations.requireOwned(userId, conversationId);
      const next = [...new Set(tags)];
      const previous = Array.isArray(conversation.tags) ? (conversation.tags as string[]) : [];
      const added = next.filter((tag) => !previous.includes(tag));
      const removed = previous.filter((tag) => !next.includes(tag));
      await ensureTags(userId, added);
      await Conversation.updateOne({ user: userId, conversationId }, { $set: { tags: next } });
      await recordSearchChanges([conversationChange(userId, conversationId)]);
      await recount(userId, [...added, ...removed]);
      return next;
    },
  };
}

export type TagService = ReturnType<typeof createTagService>;
