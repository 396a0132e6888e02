import type { ActivityDependencies } from './dependencies.ts';
import { createFinishRun } from './finish-run.ts';
import { createGenerateTitle } from './generate-title.ts';
import { createSaveRequest } from './save-request.ts';
import { createStreamReply } from './stream-reply.ts';

/** The activity functions, closed over injected clients; workflows import only the type. */
export function createActivities(deps: ActivityDependencies) {
  return {
    saveRequest: createSaveRequest(deps),
    streamReply: createStreamReply(deps),
    finishRun: createFinishRun(deps),
    generateTitle: createGenerateTitle(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDependencies } from './dependencies.ts';
