import { activityInfo, heartbeat } from '@temporalio/activity';
import { Conversation, Message } from '../../shared/models/index.ts';
import { conversationDocument, conversationFields, messageDocument, messageFields } from './search-documents.ts';
import type { SearchDocumentKind, SearchEngine } from './search-engine.ts';

export interface ReindexInput {
  kind: SearchDocumentKind;
  pageSize: number;
}

export interface ReindexProgress {
  after?: string;
  indexed: number;
}

/**
 * A full reindex's write pass: every document of `kind`, in id order, upserted page by page straight from
 * the database (the outbox would only add a write and a read per document). A document changed while its
 * page was in flight may be written older than the indexer wrote it; the reconciliation pass that follows
 * (workflows/search-reindex.ts) compares updatedAt and queues it again, so the end state is exact.
 */
export function createReindexSearchDocuments(deps: { engine: SearchEngine }) {
  return async function reindexSearchDocuments(input: ReindexInput): Promise<ReindexProgress> {
    const progress: ReindexProgress = (activityInfo().heartbeatDetails as ReindexProgress | undefined) ?? { indexed: 0 };
    const key = input.kind === 'conversations' ? 'conversationId' : 'messageId';
    for (;;) {
      const filter = progress.after === undefined ? {} : { [key]: { $gt: progress.after } };
      const page =
        input.kind === 'conversations'
          ? await Conversation.find(filter, conversationFields).sort({ conversationId: 1, user: 1 }).limit(input.pageSize).lean<Array<Parameters<typeof conversationDocument>[0]>>()
          : await Message.find(filter, messageFields).sort({ messageId: 1, user: 1 }).limit(input.pageSize).lean<Array<Parameters<typeof messageDocument>[0]>>();
      if (page.length === 0) return progress;
      if (input.kind === 'conversations') await deps.engine.upsertConversations(dedupe(page.map((document) => conversationDocument(document as Parameters<typeof conversationDocument>[0])), (document) => document.conversationId));
      else await deps.engine.upsertMessages(dedupe(page.map((document) => messageDocument(document as Parameters<typeof messageDocument>[0])), (document) => document.messageId));
      progress.indexed += page.length;
      progress.after = String((page.at(-1) as Record<string, unknown>)[key]);
      heartbeat(progress);
      if (page.length < input.pageSize) return progress;
    }
  };
}

/** Sorted by (id, user): the first of an id is the one search-documents.ts picks too. */
function dedupe<T>(documents: T[], idOf: (document: T) => string): T[] {
  const seen = new Set<string>();
  return documents.filter((document) => (seen.has(idOf(document)) ? false : (seen.add(idOf(document)), true)));
}
