import type { ChatRunInput, ReplyOutcome } from '../../shared/chat-run.ts';
import { closeRun } from '../../shared/close-run.ts';
import type { ChatActivityDependencies } from '../dependencies.ts';

/** Last step of every run the workflow itself ends: see shared/close-run.ts (the sweeper closes the others). */
export function createFinishRun(deps: ChatActivityDependencies) {
  return async function finishRun(input: ChatRunInput, outcome: ReplyOutcome, options: { requestSaved?: boolean } = {}): Promise<{ replyExcerpt: string }> {
    return closeRun({ ...deps, countTokens: (texts) => deps.countTokens(texts) }, input, outcome, options);
  };
}
