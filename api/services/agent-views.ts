import type { LeanAgent } from './agent-list.ts';

/** How agents are answered to the client (LibreChat's `api/server/controllers/agents/v1.js` shapes). */

/** Ids as strings, without `__v`; `author` only for the author (LibreChat strips it for everyone else). */
export function publicAgent(agent: LeanAgent, viewerId: string) {
  const { __v: _version, author, versions, ...rest } = agent;
  const authorId = author ? String(author) : undefined;
  const history = (versions ?? []).map((version) => {
    const entry = { ...(version as Record<string, unknown>) };
    if (entry.updatedBy) entry.updatedBy = String(entry.updatedBy);
    return entry;
  });
  return {
    ...rest,
    _id: String(agent._id),
    ...(authorId === viewerId ? { author: authorId } : {}),
    isCollaborative: !!agent.isCollaborative,
    versions: history,
    version: history.length,
  };
}

/** `GET /api/agents/:id` (VIEW): LibreChat's safe subset; no instructions, tools or parameters. */
export function safeAgent(agent: LeanAgent, viewerId: string, isPublic: boolean) {
  const authorId = String(agent.author);
  return {
    _id: String(agent._id),
    id: agent.id,
    name: agent.name,
    description: agent.description,
    avatar: agent.avatar,
    ...(authorId === viewerId ? { author: authorId } : {}),
    provider: agent.provider,
    model: agent.model,
    projectIds: agent.projectIds,
    isCollaborative: !!agent.isCollaborative,
    isPublic,
    version: agent.versions?.length ?? 0,
    createdAt: agent.createdAt,
    updatedAt: agent.updatedAt,
  };
}

/** LibreChat's duplicate suffix: ` (MM/DD/YY, HH:MM)`; UTC so every server instance names it alike. */
export function duplicateSuffix(now: Date): string {
  return now.toLocaleString('en-US', { dateStyle: 'short', timeStyle: 'short', hourCycle: 'h23', timeZone: 'UTC' });
}
