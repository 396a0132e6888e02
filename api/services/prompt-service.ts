import mongoose from 'mongoose';
import { decodeCursor, encodeCursor, isDateString } from './keyset-cursor.ts';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import { Prompt, PromptGroup } from '../../shared/models/index.ts';

/** LibreChat's SystemCategories: pseudo-categories the prompts sidebar filters by. */
const ALL_CATEGORIES = 'sys__all__sys';
const MY_PROMPTS = 'sys__my__prompts__sys';
const NO_CATEGORY = 'sys__no__category__sys';
const SHARED_PROMPTS = 'sys__shared__prompts__sys';
/** LibreChat clamps a page of prompt groups to 1..100 whatever the client asks for. */
const MAX_PAGE = 100;

export type PromptType = 'text' | 'chat';
export interface GroupFields {
  name: string;
  category?: string;
  oneliner?: string;
  command?: string | null;
}
export interface GroupFilter {
  name?: string;
  category?: string;
}

type LeanPrompt = { _id: mongoose.Types.ObjectId; groupId: mongoose.Types.ObjectId; prompt: string } & Record<string, unknown>;
type LeanGroup = { _id: mongoose.Types.ObjectId; productionId: mongoose.Types.ObjectId; numberOfGenerations: number; updatedAt: Date } & Record<string, unknown>;
interface GroupCursor {
  numberOfGenerations: number;
  updatedAt: string;
  _id: string;
}

const groupListFields = 'name numberOfGenerations oneliner category productionId author authorName command createdAt updatedAt';

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Ids as LibreChat's client sees them (ObjectId strings), without `__v`. */
function publicPrompt(prompt: Record<string, unknown>) {
  const { __v: _version, ...rest } = prompt;
  return { ...rest, _id: String(prompt._id), groupId: String(prompt.groupId) };
}
function publicGroup(group: Record<string, unknown>) {
  const { __v: _version, ...rest } = group;
  return { ...rest, _id: String(group._id), productionId: group.productionId ? String(group.productionId) : null };
}

/** A client id that is not an ObjectId cannot name anything: 404 like any other unknown id. */
function objectId(value: string, what: string): mongoose.Types.ObjectId {
  if (!mongoose.isValidObjectId(value) || !/^[a-f\d]{24}$/i.test(value)) throw new NotFoundError(`${what} not found`);
  return new mongoose.Types.ObjectId(value);
}

/**
 * Prompt groups and their versions, owned by one user each (durachat has no sharing yet, so LibreChat's
 * ACL reduces to "the author"). No transactions: the first version is written before its group, so a
 * half-done create leaves at most an unreferenced version, never a group without its production prompt.
 */
export function createPromptService() {
  async function requireGroup(userId: string, groupId: string) {
    const group = await PromptGroup.findOne({ _id: objectId(groupId, 'Prompt group'), author: userId }).lean<LeanGroup>();
    if (!group) throw new NotFoundError('Prompt group not found');
    return group;
  }

  async function requirePrompt(userId: string, promptId: string) {
    const prompt = await Prompt.findOne({ _id: objectId(promptId, 'Prompt'), author: userId }).lean<LeanPrompt>();
    if (!prompt) throw new NotFoundError('Prompt not found');
    return prompt;
  }

  /** LibreChat's `productionPrompt: {_id, prompt}` beside each group (one query for the page). */
  async function withProductionPrompts(groups: LeanGroup[]) {
    const ids = groups.map((group) => group.productionId).filter(Boolean).map(String);
    // By id: FerretDB reads the whole collection for `_id: {$in}` (shared/find-each-id.ts).
    const prompts = await findEachId(ids, (_id) => Prompt.find({ _id }, { prompt: 1 }).lean<LeanPrompt[]>(), { manyIds: (many) => Prompt.find({ _id: { $in: many } }, { prompt: 1 }).lean<LeanPrompt[]>() });
    const byId = new Map(prompts.map((prompt) => [String(prompt._id), { _id: String(prompt._id), prompt: prompt.prompt }]));
    return groups.map((group) => ({ ...publicGroup(group), productionPrompt: byId.get(String(group.productionId)) ?? null }));
  }

  function groupQuery(userId: string, filter: GroupFilter): Record<string, unknown> | null {
    const query: Record<string, unknown> = { author: userId };
    if (filter.name) query.name = { $regex: escapeRegex(filter.name), $options: 'i' };
    const category = filter.category;
    // Nothing is shared with anyone yet, so "shared with me" is always empty.
    if (category === SHARED_PROMPTS) return null;
    if (category === NO_CATEGORY) query.category = '';
    else if (category && category !== MY_PROMPTS && category !== ALL_CATEGORIES) query.category = category;
    return query;
  }

  return {
    requireGroup,

    /** `GET /api/prompts/groups`: LibreChat's cursor page; `pages` is '9999' while more follow, as LibreChat says. */
    async listGroups(userId: string, input: GroupFilter & { pageSize: number; cursor?: string }) {
      const query = groupQuery(userId, input);
      const limit = Math.min(input.pageSize, MAX_PAGE);
      let groups: LeanGroup[] = [];
      if (query) {
        if (input.cursor) {
          const cursor = decodeCursor<GroupCursor>(
            input.cursor,
            (value) => Number.isFinite(value.numberOfGenerations) && isDateString(value.updatedAt) && typeof value._id === 'string' && /^[a-f\d]{24}$/i.test(value._id),
          );
          const updatedAt = new Date(cursor.updatedAt);
          query.$or = [
            { numberOfGenerations: { $lt: cursor.numberOfGenerations } },
            { numberOfGenerations: cursor.numberOfGenerations, updatedAt: { $lt: updatedAt } },
            { numberOfGenerations: cursor.numberOfGenerations, updatedAt, _id: { $gt: new mongoose.Types.ObjectId(cursor._id) } },
          ];
        }
        groups = await PromptGroup.find(query).sort({ numberOfGenerations: -1, updatedAt: -1, _id: 1 }).limit(limit + 1).select(groupListFields).lean<LeanGroup[]>();
      }
      const hasMore = groups.length > limit;
      const page = groups.slice(0, limit);
      const last = page.at(-1);
      return {
        promptGroups: await withProductionPrompts(page),
        pageNumber: '1',
        pageSize: String(input.pageSize),
        pages: hasMore ? '9999' : '1',
        has_more: hasMore,
        after:
          hasMore && last
            ? encodeCursor({ numberOfGenerations: last.numberOfGenerations, updatedAt: new Date(last.updatedAt).toISOString(), _id: String(last._id) })
            : null,
      };
    },

    /** `GET /api/prompts/all`: every group of the user, flat, in the same order. */
    async listAllGroups(userId: string, filter: GroupFilter) {
      const query = groupQuery(userId, filter);
      if (!query) return [];
      const groups = await PromptGroup.find(query).sort({ numberOfGenerations: -1, updatedAt: -1, _id: 1 }).select(groupListFields).lean<LeanGroup[]>();
      return withProductionPrompts(groups);
    },

    async getGroup(userId: string, groupId: string) {
      const [group] = await withProductionPrompts([await requireGroup(userId, groupId)]);
      return group;
    },

    async createGroup(user: { id: string; name?: string }, prompt: { prompt: string; type: PromptType }, group: GroupFields) {
      const groupId = new mongoose.Types.ObjectId();
      const created = await Prompt.create({ ...prompt, groupId, author: user.id });
      try {
        await PromptGroup.create({
          _id: groupId,
          name: group.name,
          category: group.category ?? '',
          oneliner: group.oneliner ?? '',
          ...(group.command ? { command: group.command } : {}),
          author: user.id,
          authorName: user.name || 'User',
          productionId: created._id,
        });
      } catch (error) {
        await Prompt.deleteOne({ _id: created._id }).catch(() => undefined);
        throw error;
      }
      const savedGroup = await PromptGroup.findById(groupId).lean<LeanGroup>();
      return { prompt: publicPrompt(created.toObject()), group: { ...publicGroup(savedGroup!), productionPrompt: { prompt: prompt.prompt } } };
    },

    /** A new version; like LibreChat it is not made the production one until the client asks. */
    async addPrompt(userId: string, groupId: string, prompt: { prompt: string; type: PromptType }) {
      const group = await requireGroup(userId, groupId);
      const created = await Prompt.create({ ...prompt, groupId: group._id, author: userId });
      return { prompt: publicPrompt(created.toObject()) };
    },

    async listPrompts(userId: string, groupId?: string) {
      const filter: Record<string, unknown> = { author: userId };
      if (groupId) filter.groupId = (await requireGroup(userId, groupId))._id;
      const prompts = await Prompt.find(filter).sort({ createdAt: -1, _id: -1 }).lean<LeanPrompt[]>();
      return prompts.map(publicPrompt);
    },

    async getPrompt(userId: string, promptId: string) {
      return publicPrompt(await requirePrompt(userId, promptId));
    },

    async updateGroup(userId: string, groupId: string, changes: Partial<GroupFields>) {
      const set: Record<string, unknown> = {};
      const unset: Record<string, ''> = {};
      for (const [key, value] of Object.entries(changes)) {
        if (value === undefined) continue;
        // `command: null` or '' removes the slash command.
        if (key === 'command' && !value) unset.command = '';
        else set[key] = value;
      }
      const update: Record<string, unknown> = {};
      if (Object.keys(set).length) update.$set = set;
      if (Object.keys(unset).length) update.$unset = unset;
      const updated = await PromptGroup.findOneAndUpdate({ _id: objectId(groupId, 'Prompt group'), author: userId }, update, { returnDocument: 'after' }).lean<LeanGroup>();
      if (!updated) throw new NotFoundError('Prompt group not found');
      return publicGroup(updated);
    },

    async recordUse(userId: string, groupId: string) {
      const updated = await PromptGroup.findOneAndUpdate(
        { _id: objectId(groupId, 'Prompt group'), author: userId },
        { $inc: { numberOfGenerations: 1 } },
        { returnDocument: 'after' },
      ).lean<LeanGroup>();
      if (!updated) throw new NotFoundError('Prompt group not found');
      return { numberOfGenerations: updated.numberOfGenerations };
    },

    async makeProduction(userId: string, promptId: string) {
      const prompt = await requirePrompt(userId, promptId);
      const result = await PromptGroup.updateOne({ _id: prompt.groupId, author: userId }, { $set: { productionId: prompt._id } });
      if (result.matchedCount === 0) throw new NotFoundError('Prompt group not found');
      return { message: 'Prompt production made successfully' };
    },

    /** Deleting the production version promotes the newest remaining one; the last one takes the group with it. */
    async deletePrompt(userId: string, promptId: string, groupId?: string) {
      const prompt = await requirePrompt(userId, promptId);
      if (groupId && String(prompt.groupId) !== groupId) throw new ValidationError('groupId: is not this prompt\'s group');
      await Prompt.deleteOne({ _id: prompt._id, author: userId });
      const newest = await Prompt.findOne({ groupId: prompt.groupId }, { _id: 1 }).sort({ createdAt: -1, _id: -1 }).lean<LeanPrompt>();
      if (!newest) {
        await PromptGroup.deleteOne({ _id: prompt.groupId, author: userId });
        return { prompt: 'Prompt deleted successfully', promptGroup: { message: 'Prompt group deleted successfully', id: String(prompt.groupId) } };
      }
      await PromptGroup.updateOne({ _id: prompt.groupId, author: userId, productionId: prompt._id }, { $set: { productionId: newest._id } });
      return { prompt: 'Prompt deleted successfully' };
    },

    /** Versions first: a failure half-way leaves a group that can be deleted again, never orphaned versions. */
    async deleteGroup(userId: string, groupId: string) {
      const group = await requireGroup(userId, groupId);
      await Prompt.deleteMany({ groupId: group._id, author: userId });
      await PromptGroup.deleteOne({ _id: group._id, author: userId });
      return { message: 'Prompt group deleted successfully' };
    },
  };
}
export type PromptService = ReturnType<typeof createPromptService>;
