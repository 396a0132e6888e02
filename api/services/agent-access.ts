import type { Types } from 'mongoose';
import { ForbiddenError } from '../../shared/errors.ts';
import { AclEntry, PermissionBits, RoleBits } from '../../shared/models/acl-entry.ts';
import { SystemRoles } from '../../shared/models/user.ts';
import { roleDefinitions } from '../../shared/roles.ts';

export const AGENT_RESOURCE = 'agent';
export interface AgentUser {
  id: string;
  role?: string;
  name?: string;
}
export type AgentRolePermission = 'USE' | 'CREATE' | 'SHARED_GLOBAL';

/** LibreChat's generateCheckAccess answer, word for word. */
export const ROLE_FORBIDDEN_MESSAGE = 'Forbidden: Insufficient permissions';

export const isAdmin = (user: AgentUser) => user.role === SystemRoles.ADMIN;

/** The role check (`generateCheckAccess(AGENTS, [...])`): every permission must be on; an unknown role has none. */
export function requireAgentRole(user: AgentUser, permissions: AgentRolePermission[]) {
  const agents = roleDefinitions[user.role ?? SystemRoles.USER]?.permissions.AGENTS as Record<string, boolean> | undefined;
  if (!agents || !permissions.every((permission) => agents[permission] === true)) throw new ForbiddenError(ROLE_FORBIDDEN_MESSAGE);
}

/** The principals a user acts as: themselves, their role, and everyone (`public`). No groups in durachat yet. */
function principalFilter(user: AgentUser) {
  return {
    $or: [
      { principalType: 'user', principalId: user.id },
      { principalType: 'role', principalId: user.role ?? SystemRoles.USER },
      { principalType: 'public' },
    ],
  };
}

/**
 * The ACL side of agents: effective bits are the OR of every entry of the user's principals (read in memory,
 * not with `$bitsAllSet`, which FerretDB does not support). ADMIN holds every bit, as LibreChat's bypass.
 */
export function createAgentAccess() {
  async function bitsOn(user: AgentUser, resourceId: Types.ObjectId): Promise<number> {
    if (isAdmin(user)) return RoleBits.OWNER;
    const entries = await AclEntry.find({ resourceType: AGENT_RESOURCE, resourceId, ...principalFilter(user) }, { permBits: 1 }).lean<{ permBits: number }[]>();
    return entries.reduce((bits, entry) => bits | entry.permBits, 0);
  }

  return {
    bitsOn,

    /** `_id`s of the agents on which the user's principals together hold all `required` bits (no ADMIN bypass, as LibreChat's list). */
    async accessibleIds(user: AgentUser, required: number): Promise<Types.ObjectId[]> {
      const entries = await AclEntry.find({ resourceType: AGENT_RESOURCE, ...principalFilter(user) }, { resourceId: 1, permBits: 1 }).lean<{ resourceId: Types.ObjectId; permBits: number }[]>();
      const bits = new Map<string, { id: Types.ObjectId; bits: number }>();
      for (const entry of entries) {
        const key = String(entry.resourceId);
        const seen = bits.get(key);
        bits.set(key, { id: entry.resourceId, bits: (seen?.bits ?? 0) | entry.permBits });
      }
      return [...bits.values()].filter((entry) => (entry.bits & required) === required).map((entry) => entry.id);
    },

    /** `_id`s shared with everyone (LibreChat's `isPublic` on list items). */
    async publicIds(resourceIds: Types.ObjectId[]): Promise<Set<string>> {
      if (resourceIds.length === 0) return new Set();
      const entries = await AclEntry.find({ resourceType: AGENT_RESOURCE, principalType: 'public', resourceId: { $in: resourceIds } }, { resourceId: 1, permBits: 1 }).lean<{ resourceId: Types.ObjectId; permBits: number }[]>();
      return new Set(entries.filter((entry) => entry.permBits & PermissionBits.VIEW).map((entry) => String(entry.resourceId)));
    },

    /** The creator becomes `agent_owner` (15). An upsert, so a retried create never leaves two entries. */
    async grantOwner(userId: string, resourceId: Types.ObjectId) {
      await AclEntry.updateOne(
        { principalType: 'user', principalId: userId, resourceType: AGENT_RESOURCE, resourceId },
        { $set: { principalModel: 'User', permBits: RoleBits.OWNER, accessRoleId: 'agent_owner', grantedBy: userId, grantedAt: new Date() } },
        { upsert: true },
      );
    },

    async removeAll(resourceId: Types.ObjectId) {
      await AclEntry.deleteMany({ resourceType: AGENT_RESOURCE, resourceId });
    },
  };
}
export type AgentAccess = ReturnType<typeof createAgentAccess>;
