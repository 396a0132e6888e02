import { heartbeat } from '@temporalio/activity';
import { SearchOutbox, type SearchChangeKind } from '../../shared/models/search-outbox.ts';
import { currentConversations, currentMessages } from './search-documents.ts';
import type { SearchEngine } from './search-engine.ts';

export interface DrainInput {
  /** Outbox entries per engine call (100: one engine request each for conversations and messages). */
  batchSize: number;
  /** Batches per activity call; the workflow calls again while there is more (bounds an attempt's length). */
  maxBatches: number;
}

export interface DrainResult {
  drained: number;
  /** True when the last batch was full: there may be more waiting. */
  more: boolean;
}

type Entry = { _id: unknown; kind: SearchChangeKind; id: string };

/**
 * Applies one batch: the ids' documents read now and upserted, the ids that are gone deleted, then the
 * entries removed. Nothing here depends on what an entry said happened: a replayed, duplicated or
 * reordered entry writes the database's current state again, so the index converges whatever the order.
 * The entries are removed only after the engine accepted the writes; an engine that refuses (down, timing
 * out) makes the activity fail and Temporal retry it with backoff, the entries kept.
 */
export async function applyOutboxBatch(engine: SearchEngine, entries: Entry[]): Promise<void> {
  const conversationIds = [...new Set(entries.filter((entry) => entry.kind === 'conversation').map((entry) => entry.id))];
  const messageIds = [...new Set(entries.filter((entry) => entry.kind === 'message').map((entry) => entry.id))];
  const [conversations, messages] = await Promise.all([currentConversations(conversationIds), currentMessages(messageIds)]);
  const goneConversations = conversationIds.filter((id) => !conversations.has(id));
  const goneMessages = messageIds.filter((id) => !messages.has(id));
  if (conversations.size > 0) await engine.upsertConversations([...conversations.values()]);
  if (goneConversations.length > 0) await engine.deleteConversations(goneConversations);
  if (messages.size > 0) await engine.upsertMessages([...messages.values()]);
  if (goneMessages.length > 0) await engine.deleteMessages(goneMessages);
}

export function createDrainSearchOutbox(deps: { engine: SearchEngine }) {
  return async function drainSearchOutbox(input: DrainInput): Promise<DrainResult> {
    let drained = 0;
    for (let batch = 0; batch < input.maxBatches; batch += 1) {
      const entries = await SearchOutbox.find({}, { _id: 1, kind: 1, id: 1 }).sort({ _id: 1 }).limit(input.batchSize).lean<Entry[]>();
      if (entries.length === 0) return { drained, more: false };
      heartbeat({ drained });
      await applyOutboxBatch(deps.engine, entries);
      // One delete by `_id` per entry, in one round trip: `{_id: {$in}}` is not pushed down by FerretDB 1.24
      // (shared/find-each-id.ts), and a backlog (an engine down for an hour) would be read whole
      // for every batch.
      await SearchOutbox.bulkWrite(entries.map((entry) => ({ deleteOne: { filter: { _id: entry._id } } })), { ordered: false });
      drained += entries.length;
      heartbeat({ drained });
      if (entries.length < input.batchSize) return { drained, more: false };
    }
    return { drained, more: true };
  };
}
