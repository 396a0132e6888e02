import { createAgentActivities } from './agent/index.ts';
import { createBackgroundActivities, createChatActivities } from './chat/index.ts';
import type { ActivityDependencies } from './dependencies.ts';
import type { createFileActivities } from './files/index.ts';

/** Every activity, by group; workflows import only the type. A worker registers the groups of its queues. */
export function createActivities(deps: ActivityDependencies) {
  return { ...createChatActivities(deps), ...createAgentActivities(deps), ...createBackgroundActivities(deps) };
}
/** Workflows see every activity's type; the file activities are registered only by workers serving the files queue. */
export type Activities = ReturnType<typeof createActivities> & ReturnType<typeof createFileActivities>;
export type { ActivityDependencies } from './dependencies.ts';
