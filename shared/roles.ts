import { SystemRoles } from './models/user.ts';

/**
 * Role permissions in the shape LibreChat's client reads from `GET /api/roles/:roleName`. durachat has
 * no role editor yet, so the two system roles are fixed here.
 */
const userPermissions = {
  BOOKMARKS: { USE: true },
  PROMPTS: { SHARED_GLOBAL: false, USE: true, CREATE: true },
  MEMORIES: { USE: false, CREATE: false, UPDATE: false, READ: false, OPT_OUT: true },
  AGENTS: { SHARED_GLOBAL: false, USE: true, CREATE: true },
  MULTI_CONVO: { USE: false },
  TEMPORARY_CHAT: { USE: false },
  RUN_CODE: { USE: false },
  WEB_SEARCH: { USE: false },
  PEOPLE_PICKER: { VIEW_USERS: false, VIEW_GROUPS: false, VIEW_ROLES: false },
  MARKETPLACE: { USE: false },
  FILE_SEARCH: { USE: false },
  FILE_CITATIONS: { USE: false },
};

export const roleDefinitions: Record<string, { name: string; permissions: typeof userPermissions }> = {
  [SystemRoles.USER]: { name: SystemRoles.USER, permissions: userPermissions },
  [SystemRoles.ADMIN]: {
    name: SystemRoles.ADMIN,
    permissions: { ...userPermissions, PROMPTS: { SHARED_GLOBAL: true, USE: true, CREATE: true }, AGENTS: { SHARED_GLOBAL: true, USE: true, CREATE: true } },
  },
};
