import { createAgentActivities } from './agent/index.ts';
import { createBackgroundActivities, createChatActivities } from './chat/index.ts';
import type { ActivityDependencies } from './dependencies.ts';

/** Every activity, by group; workflows import only the type. A worker registers the groups of its queues. */
export function createActivities(deps: ActivityDependencies) {
  return { ...createChatActivities(deps), ...createAgentActivities(deps), ...createBackgroundActivities(deps) };
}
export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDependencies } from './dependencies.ts';
