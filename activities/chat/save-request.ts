import type { ChatRunInput } from '../../shared/chat-run.ts';
import { saveRequestDocuments } from '../../shared/close-run.ts';
import type { ChatActivityDependencies } from '../dependencies.ts';

/**
 * First step of a run: a new conversation and the user's message (shared/close-run.ts). The API writes
 * nothing itself, so a run Temporal never accepted leaves no half-saved turn behind.
 */
export function createSaveRequest(deps: Pick<ChatActivityDependencies, 'countTokens'>) {
  return async function saveRequest(input: ChatRunInput): Promise<void> {
    await saveRequestDocuments(input, (texts) => deps.countTokens(texts));
  };
}
