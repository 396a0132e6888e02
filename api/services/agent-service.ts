import { randomBytes } from 'node:crypto';
import mongoose, { type Types } from 'mongoose';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { Agent } from '../../shared/models/agent.ts';
import { PermissionBits } from '../../shared/models/acl-entry.ts';
import { createAgentAccess, isAdmin, requireAgentRole, type AgentUser } from './agent-access.ts';
import { AGENT_CATEGORIES, listAgents, type AgentListQuery, type LeanAgent } from './agent-list.ts';
import { sameState, stateUpdate, versionedState, type AgentState } from './agent-versions.ts';
import { duplicateSuffix, publicAgent, safeAgent } from './agent-views.ts';
import { createKeyedSerializer } from './keyed-serializer.ts';

export type { AgentUser } from './agent-access.ts';
export type { AgentListQuery } from './agent-list.ts';

/** What the agent run needs (another module starts it from the chat route). */
export interface AgentForRun {
  id: string;
  name: string;
  description?: string;
  instructions?: string;
  provider: string;
  model: string;
  model_parameters: Record<string, unknown>;
  tools: string[];
  recursion_limit?: number;
  /** The agent's file_search files (tool_resources.file_search.file_ids): ids as stored, not yet checked. */
  file_search_file_ids: string[];
  /** Its author: whose files an agent may search (besides the user's own). */
  author: string;
}

/** The editable fields a create or update carries (already validated by api/routes/agents.ts). */
export type AgentInput = AgentState & { projectIds?: string[]; removeProjectIds?: string[] };

/** LibreChat's 409 body: `{error, details: {duplicateVersion, versionIndex}}` (the route shapes it). */
export class AgentVersionConflictError extends ConflictError {
  constructor(readonly details: { duplicateVersion: unknown; versionIndex: number }) {
    super('Duplicate version: This would create a version identical to an existing one');
  }
}

/** LibreChat's canAccessAgentResource answers for an agent the user can see but not change. */
const ACL_FORBIDDEN = 'Insufficient permissions to access this agent';
const NOT_FOUND = 'agent not found';
/** A concurrent update between our read and our write: re-read and recompute this many times, then 409. */
const UPDATE_ATTEMPTS = 3;

/** `agent_` + 21 characters of nanoid's alphabet (which is base64url's). */
export function newAgentId(): string {
  return `agent_${randomBytes(16).toString('base64url').slice(0, 21)}`;
}

/**
 * Agents (LIBRECHAT-API.md §1): documents in `agents`, access through `aclentries`. Role checks come first
 * (403 `Forbidden: Insufficient permissions`); then an agent the user cannot VIEW is 404, as if it did not
 * exist (LibreChat answers 403 there, which tells a stranger the id is real); one the user can see but
 * lacks the bit for is 403. ADMIN holds every bit.
 */
export function createAgentService(dependencies: {
  endpoints: EndpointsConfig;
  /** When given, create keeps only tools it knows (LibreChat filters by its tool cache); without it, every name is kept. */
  isKnownTool?: (tool: string) => boolean;
  /** After an agent is deleted (its avatar object goes: api/services/avatar-service.ts); best effort. */
  onRemoved?: (agent: { id: string; avatar?: { filepath?: string; source?: string } | null }) => Promise<void>;
}) {
  const access = createAgentAccess();
  // Writes to one agent (update, revert) run one at a time in this process: see keyed-serializer.ts.
  // Across processes, the conditional write below is what keeps MongoDB's history complete.
  const serializeWrites = createKeyedSerializer();

  /** An agent must point at an endpoint this server has; the name is matched case-insensitively and stored as configured. */
  function resolveProvider(provider: string): string {
    const endpoints = dependencies.endpoints.endpoints;
    const match = endpoints.find((endpoint) => endpoint.name === provider) ?? endpoints.find((endpoint) => endpoint.name.toLowerCase() === provider.toLowerCase());
    if (!match) {
      const names = endpoints.map((endpoint) => endpoint.name).join(', ') || 'none';
      throw new ValidationError(`provider: "${provider}" is not an endpoint of this server (available: ${names})`);
    }
    return match.name;
  }

  async function findAgent(agentId: string): Promise<LeanAgent | null> {
    return Agent.findOne({ id: agentId }).lean<LeanAgent>();
  }

  /** The agent and the user's bits on it; 404 unless the user can at least VIEW it. */
  async function requireVisible(user: AgentUser, agentId: string) {
    const agent = await findAgent(agentId);
    if (!agent) throw new NotFoundError(NOT_FOUND);
    const bits = await access.bitsOn(user, agent._id);
    if (!(bits & PermissionBits.VIEW)) throw new NotFoundError(NOT_FOUND);
    return { agent, bits };
  }

  async function requireBits(user: AgentUser, agentId: string, required: number) {
    const found = await requireVisible(user, agentId);
    if ((found.bits & required) !== required) throw new ForbiddenError(ACL_FORBIDDEN);
    return found;
  }

  function keepTools(tools: unknown): string[] {
    const list = Array.isArray(tools) ? (tools as string[]) : [];
    const unique = [...new Set(list)];
    return dependencies.isKnownTool ? unique.filter(dependencies.isKnownTool) : unique;
  }

  /** Writes a new agent with its first version (its own state, after schema defaults) and the creator's owner entry. */
  async function insertAgent(user: AgentUser, state: AgentState, extra: Record<string, unknown> = {}) {
    const document = new Agent({ ...state, ...extra, id: newAgentId(), author: user.id, authorName: user.name || 'User' });
    const now = new Date();
    document.set('versions', [{ ...versionedState(document.toObject()), createdAt: now, updatedAt: now }]);
    await document.save();
    // The owner entry follows the document: a failure here leaves an agent only an ADMIN sees, never an
    // ACL entry pointing at nothing. It is retried once, then the agent is removed again.
    try {
      await access.grantOwner(user.id, document._id as Types.ObjectId).catch(() => access.grantOwner(user.id, document._id as Types.ObjectId));
    } catch (error) {
      await Agent.deleteOne({ _id: document._id }).catch(() => undefined);
      throw error;
    }
    return document.toObject() as LeanAgent;
  }

  /**
   * PATCH: the fields given replace the stored ones (null clears an optional one) and a full snapshot is
   * pushed. Nothing given: the agent as it is, no version. A result equal to the newest version: 409, as
   * LibreChat. Writes to one agent are serialized in this process, and the write is conditional on the
   * `updatedAt` we read (re-read and retried), so no snapshot misses a concurrent update. The client sends
   * no guard of its own, so none is asked of it.
   */
  async function updateAgent(user: AgentUser, agentId: string, input: AgentInput) {
    const { projectIds, removeProjectIds, ...changes } = input;
    const sharing = projectIds !== undefined || removeProjectIds !== undefined;
    requireAgentRole(user, sharing ? ['USE', 'CREATE', 'SHARED_GLOBAL'] : ['USE', 'CREATE']);
    if ('provider' in changes && changes.provider !== undefined) changes.provider = resolveProvider(String(changes.provider));
    if (changes.tools !== undefined) changes.tools = keepTools(changes.tools);
    const changedFields = Object.keys(changes).filter((field) => changes[field as keyof AgentState] !== undefined) as (keyof AgentState)[];

    let { agent } = await requireBits(user, agentId, PermissionBits.EDIT);
    if (changedFields.length > 0) {
      for (let attempt = 1; ; attempt += 1) {
        const current = versionedState(agent);
        const wouldBe: AgentState = { ...current };
        for (const field of changedFields) wouldBe[field] = changes[field] === null ? undefined : changes[field];
        const versions = (agent.versions ?? []) as Record<string, unknown>[];
        const last = versions.at(-1);
        if (last && sameState(wouldBe, versionedState(last))) {
          throw new AgentVersionConflictError({ duplicateVersion: last, versionIndex: versions.length - 1 });
        }
        const { $set, $unset } = stateUpdate(wouldBe);
        const now = new Date();
        const snapshot = { ...versionedState($set), createdAt: agent.createdAt, updatedAt: now, updatedBy: new mongoose.Types.ObjectId(user.id) };
        const update: Record<string, unknown> = { $set, $push: { versions: snapshot } };
        if (Object.keys($unset).length > 0) update.$unset = $unset;
        const written = await Agent.findOneAndUpdate({ _id: agent._id, updatedAt: agent.updatedAt }, update, { returnDocument: 'after' }).lean<LeanAgent>();
        if (written) {
          agent = written;
          break;
        }
        const reread = await findAgent(agentId);
        if (!reread) throw new NotFoundError(NOT_FOUND);
        if (attempt >= UPDATE_ATTEMPTS) throw new ConflictError('The agent was changed by another request at the same time; reload it and try again');
        agent = reread;
      }
    }
    // Sharing to projects is not a version (LibreChat's skipVersioning). Pull and add are two writes:
    // MongoDB refuses $pull and $addToSet on one path in one update.
    if (removeProjectIds?.length) agent = (await Agent.findOneAndUpdate({ _id: agent._id }, { $pull: { projectIds: { $in: removeProjectIds } } }, { returnDocument: 'after' }).lean<LeanAgent>()) ?? agent;
    if (projectIds?.length) agent = (await Agent.findOneAndUpdate({ _id: agent._id }, { $addToSet: { projectIds: { $each: projectIds } } }, { returnDocument: 'after' }).lean<LeanAgent>()) ?? agent;
    return publicAgent(agent, user.id);
  }

  /**
   * LibreChat's legacy check: the author, an ADMIN, or anyone on a collaborative agent (durachat asks EDIT
   * for that last case, so a mere viewer cannot rewrite it). The agent takes the version's state; no new
   * version is pushed, as LibreChat.
   */
  async function revertAgent(user: AgentUser, agentId: string, versionIndex: number) {
    requireAgentRole(user, ['USE', 'CREATE']);
    const { agent, bits } = await requireVisible(user, agentId);
    const isAuthor = String(agent.author) === user.id;
    if (!isAuthor && !isAdmin(user) && !(agent.isCollaborative && bits & PermissionBits.EDIT)) {
      throw new ForbiddenError('Only the author or an admin can revert this agent');
    }
    const version = (agent.versions ?? [])[versionIndex] as Record<string, unknown> | undefined;
    if (!version) throw new NotFoundError(`Version ${versionIndex} not found`);
    const { $set, $unset } = stateUpdate(versionedState(version));
    const update: Record<string, unknown> = { $set };
    if (Object.keys($unset).length > 0) update.$unset = $unset;
    const reverted = await Agent.findOneAndUpdate({ _id: agent._id }, update, { returnDocument: 'after' }).lean<LeanAgent>();
    if (!reverted) throw new NotFoundError(NOT_FOUND);
    return publicAgent(reverted, user.id);
  }

  return {
    async list(user: AgentUser, query: AgentListQuery) {
      requireAgentRole(user, ['USE']);
      return listAgents(access, user, query);
    },

    async create(user: AgentUser, input: AgentInput) {
      requireAgentRole(user, ['USE', 'CREATE']);
      const { projectIds: _projectIds, removeProjectIds: _removeProjectIds, ...state } = input;
      const created = await insertAgent(user, { ...state, provider: resolveProvider(String(state.provider)), tools: keepTools(state.tools) });
      return publicAgent(created, user.id);
    },

    async get(user: AgentUser, agentId: string) {
      requireAgentRole(user, ['USE']);
      const { agent } = await requireVisible(user, agentId);
      const isPublic = (await access.publicIds([agent._id])).has(String(agent._id));
      return safeAgent(agent, user.id, isPublic);
    },

    async getExpanded(user: AgentUser, agentId: string) {
      requireAgentRole(user, ['USE']);
      const { agent } = await requireBits(user, agentId, PermissionBits.EDIT);
      return publicAgent(agent, user.id);
    },

    async update(user: AgentUser, agentId: string, input: AgentInput) {
      return serializeWrites(agentId, () => updateAgent(user, agentId, input));
    },

    async revert(user: AgentUser, agentId: string, versionIndex: number) {
      return serializeWrites(agentId, () => revertAgent(user, agentId, versionIndex));
    },

    /**
     * A copy owned by the caller: editable state only (no sharing, promotion or history), only the `context`
     * tool resource (files of the others belong to the original's indexes). durachat has no actions yet,
     * so `actions` is always [].
     */
    async duplicate(user: AgentUser, agentId: string) {
      requireAgentRole(user, ['USE', 'CREATE']);
      const { agent, bits } = await requireVisible(user, agentId);
      const { tool_resources: resources, actions: _actions, ...state } = versionedState(agent);
      // The instructions are what GET /:id keeps from viewers: a viewer's copy does not carry them (only an
      // editor's, or an admin's, does), so duplicating is not a way to read them.
      if (!(isAdmin(user) || (bits & PermissionBits.EDIT) !== 0)) delete (state as { instructions?: string }).instructions;
      const context = (resources as Record<string, unknown> | undefined)?.context;
      const copy: AgentState = { ...state, name: `${agent.name ?? ''} (${duplicateSuffix(new Date())})`, tool_resources: context ? { context } : {} };
      const created = await insertAgent(user, copy);
      return { agent: publicAgent(created, user.id), actions: [] as unknown[] };
    },

    /** Deletes the agent, then its ACL entries (orphaned entries would point at nothing; harmless if that step fails). */
    async remove(user: AgentUser, agentId: string) {
      requireAgentRole(user, ['USE', 'CREATE']);
      const { agent } = await requireBits(user, agentId, PermissionBits.DELETE);
      await Agent.deleteOne({ _id: agent._id });
      await access.removeAll(agent._id);
      await dependencies.onRemoved?.(agent as { id: string; avatar?: { filepath?: string; source?: string } | null }).catch(() => undefined);
      return { message: 'Agent deleted' };
    },

    /**
     * `[{value,label,count,description}]`: `promoted` first when any, the default categories, `all` last.
     * Counts are of the agents this user can see (LibreChat counts every agent in the database, which
     * tells anyone how many private agents exist).
     */
    async categories(user: AgentUser) {
      const ids = await access.accessibleIds(user, PermissionBits.VIEW);
      type Categorized = { category?: string; is_promoted?: boolean };
      // By id: FerretDB reads the whole collection for `_id: {$in}` (shared/find-each-id.ts).
      const agents = await findEachId(ids.map(String), (_id) => Agent.find({ _id }, { category: 1, is_promoted: 1 }).lean<Categorized[]>(), { manyIds: (many) => Agent.find({ _id: { $in: many } }, { category: 1, is_promoted: 1 }).lean<Categorized[]>() });
      const counts = new Map<string, number>();
      for (const agent of agents) counts.set(agent.category ?? 'general', (counts.get(agent.category ?? 'general') ?? 0) + 1);
      const promoted = agents.filter((agent) => agent.is_promoted).length;
      return [
        ...(promoted > 0 ? [{ value: 'promoted', label: 'Promoted', count: promoted, description: 'Our recommended agents' }] : []),
        ...AGENT_CATEGORIES.map((category) => ({ ...category, count: counts.get(category.value) ?? 0 })),
        { value: 'all', label: 'All', count: agents.length, description: 'All available agents' },
      ];
    },

    /** For the agent run: null when the agent does not exist or the user cannot VIEW it (ADMIN sees all). */
    async loadAgentForRun(user: { id: string; role: string }, agentId: string): Promise<AgentForRun | null> {
      const agent = await findAgent(agentId);
      if (!agent) return null;
      if (!((await access.bitsOn(user, agent._id)) & PermissionBits.VIEW)) return null;
      return {
        id: agent.id,
        name: agent.name ?? '',
        ...(agent.description ? { description: agent.description } : {}),
        ...(agent.instructions ? { instructions: agent.instructions } : {}),
        provider: agent.provider,
        model: agent.model,
        model_parameters: (agent.model_parameters as Record<string, unknown> | undefined) ?? {},
        tools: agent.tools ?? [],
        ...(typeof agent.recursion_limit === 'number' ? { recursion_limit: agent.recursion_limit } : {}),
        author: String(agent.author),
        file_search_file_ids: ((agent.tool_resources as { file_search?: { file_ids?: string[] } } | undefined)?.file_search?.file_ids ?? []).slice(0, 1000),
      };
    },
  };
}
export type AgentService = ReturnType<typeof createAgentService>;
