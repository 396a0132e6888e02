import type { ChatActivityDependencies } from '../dependencies.ts';
import { createFinishRun } from './finish-run.ts';
import { createGenerateTitle } from './generate-title.ts';
import { createSaveRequest } from './save-request.ts';
import { createStreamReply } from './stream-reply.ts';
import { createStreamTurn } from './stream-turn.ts';

/** The chat turn's activities (interactive task queue), closed over their clients. */
export function createChatActivities(deps: ChatActivityDependencies) {
  return {
    saveRequest: createSaveRequest(deps),
    streamReply: createStreamReply(deps),
    streamTurn: createStreamTurn(deps),
    finishRun: createFinishRun(deps),
  };
}

/** Background work that follows a turn (its own task queue: a slow title never delays a reply). */
export function createBackgroundActivities(deps: ChatActivityDependencies) {
  return {
    generateTitle: createGenerateTitle(deps),
  };
}
