import mongoose, { type Types } from 'mongoose';
import { Agent } from '../../shared/models/agent.ts';
import type { AgentAccess, AgentUser } from './agent-access.ts';
import { decodeCursor, isDateString } from './keyset-cursor.ts';

export type LeanAgent = {
  _id: Types.ObjectId;
  id: string;
  name?: string | null;
  description?: string | null;
  instructions?: string | null;
  avatar?: { filepath?: string; source?: string } | null;
  provider: string;
  model: string;
  model_parameters?: Record<string, unknown>;
  tools?: string[];
  recursion_limit?: number;
  author: Types.ObjectId;
  isCollaborative?: boolean;
  projectIds?: string[];
  versions?: unknown[];
  category?: string;
  is_promoted?: boolean;
  createdAt: Date;
  updatedAt: Date;
  __v?: number;
} & Record<string, unknown>;

/** LibreChat's default agent categories (`ensureDefaultCategories`); labels are client locale keys. */
export const AGENT_CATEGORIES = ['general', 'hr', 'rd', 'finance', 'it', 'sales', 'aftersales'].map((value) => ({
  value,
  label: `com_agents_category_${value}`,
  description: `com_agents_category_${value}_description`,
}));

export interface AgentListQuery {
  category?: string;
  search?: string;
  promoted?: '0' | '1';
  limit?: number;
  cursor?: string;
  requiredPermission?: number;
}

/** LibreChat's list projection (`getListAgentsByAccess`). */
const LIST_FIELDS = 'id _id name avatar author projectIds description updatedAt category support_contact is_promoted';
/** "No limit" is LibreChat's unpaginated list; durachat still bounds one answer, and says has_more past it. */
const UNPAGINATED_MAX = 1000;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** LibreChat's cursor, base64 JSON `{updatedAt, _id}`; the URL-safe alphabet, so a client that forgets to encode `+` cannot break it. */
function encodeListCursor(agent: LeanAgent): string {
  return Buffer.from(JSON.stringify({ updatedAt: new Date(agent.updatedAt).toISOString(), _id: String(agent._id) })).toString('base64url');
}

/**
 * `GET /api/agents`: agents on which the user's principals hold `requiredPermission` (default VIEW), newest
 * update first (`updatedAt desc, _id asc`, a keyset so pages stay stable while agents change).
 */
export async function listAgents(access: AgentAccess, user: AgentUser, query: AgentListQuery) {
  const ids = await access.accessibleIds(user, query.requiredPermission ?? 1);
  const filter: Record<string, unknown> = { _id: { $in: ids } };
  // The marketplace's pseudo-categories: `all` is no filter, `promoted` the promoted flag.
  if (query.category === 'promoted') filter.is_promoted = true;
  else if (query.category && query.category !== 'all') filter.category = query.category;
  if (query.promoted === '1') filter.is_promoted = true;
  else if (query.promoted === '0') filter.is_promoted = { $ne: true };
  if (query.search?.trim()) filter.name = { $regex: escapeRegex(query.search.trim()), $options: 'i' };
  if (query.cursor) {
    const cursor = decodeCursor<{ updatedAt: string; _id: string }>(
      query.cursor,
      (value) => isDateString(value.updatedAt) && typeof value._id === 'string' && /^[a-f\d]{24}$/i.test(value._id),
    );
    const updatedAt = new Date(cursor.updatedAt);
    filter.$or = [{ updatedAt: { $lt: updatedAt } }, { updatedAt, _id: { $gt: new mongoose.Types.ObjectId(cursor._id) } }];
  }
  const limit = query.limit ?? UNPAGINATED_MAX;
  const found = ids.length ? await Agent.find(filter).sort({ updatedAt: -1, _id: 1 }).limit(limit + 1).select(LIST_FIELDS).lean<LeanAgent[]>() : [];
  const hasMore = found.length > limit;
  const page = found.slice(0, limit);
  const publicIds = await access.publicIds(page.map((agent) => agent._id));
  const data = page.map((agent) => {
    const { __v: _version, ...rest } = agent;
    return {
      ...rest,
      _id: String(agent._id),
      author: String(agent.author),
      ...(publicIds.has(String(agent._id)) ? { isPublic: true } : {}),
    };
  });
  const last = page.at(-1);
  return {
    object: 'list' as const,
    data,
    first_id: page[0]?.id ?? null,
    last_id: last?.id ?? null,
    has_more: hasMore,
    after: hasMore && last ? encodeListCursor(last) : null,
  };
}
