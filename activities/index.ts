import type { ActivityDependencies } from './dependencies.ts';
import { createFinishRun } from './chat/finish-run.ts';
import { createGenerateTitle } from './chat/generate-title.ts';
import { createSaveRequest } from './chat/save-request.ts';
import { createStreamReply } from './chat/stream-reply.ts';

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
