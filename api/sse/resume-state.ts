import { foldReply } from '../../shared/run-content.ts';
import type { CreatedEvent, SequencedEvent } from '../../shared/run-events.ts';
import { encodeLibreChatEvent } from './librechat-encoder.ts';

/**
 * LibreChat's `resumeState` (Agents.ResumeState), built from a run's events up to a point: the run steps
 * the client must register before later deltas can find their message, the content so far, and the
 * ids of the user message and the reply, which are the same everywhere a run shows them (so a resumed
 * reply replaces its placeholder instead of becoming a second sibling).
 */
export function buildResumeState(items: readonly SequencedEvent[]) {
  const events = items.map((item) => item.event);
  const created = events.find((event): event is CreatedEvent => event.type === 'created');
  const runSteps = events.flatMap((event) => (event.type === 'step' ? [(encodeLibreChatEvent(event)!.data as { data: unknown }).data] : []));
  return {
    runSteps,
    aggregatedContent: foldReply(events).content,
    userMessage: created?.message,
    responseMessageId: created?.responseMessageId,
    conversationId: created?.conversationId,
  };
}
export type ResumeState = ReturnType<typeof buildResumeState>;
