import { activityInfo, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Conversation, Message } from '../../shared/models/index.ts';
import { SearchOutbox } from '../../shared/models/search-outbox.ts';
import type { SearchDocumentKind, SearchEngine } from './search-engine.ts';

export interface ReconcileInput {
  kind: SearchDocumentKind;
  /** Ids compared per step, from each side. */
  pageSize: number;
}

export interface ReconcileProgress {
  /** The last id both sides were compared up to: a retried attempt resumes after it. */
  after?: string;
  checked: number;
  /** Differences found (missing, stale or deleted-but-indexed), recorded as outbox changes. */
  enqueued: number;
}

type Listed = { id: string; updatedAt: string; user?: string };

const idKeyOf = (kind: SearchDocumentKind) => (kind === 'conversations' ? 'conversationId' : 'messageId');
const modelOf = (kind: SearchDocumentKind) => (kind === 'conversations' ? Conversation : Message);
const changeKindOf = (kind: SearchDocumentKind) => (kind === 'conversations' ? 'conversation' : 'message');

/** The database's ids after `after`, in the same (binary) order as the engine's listDocuments. */
export async function listDatabaseDocuments(kind: SearchDocumentKind, after: string | undefined, limit: number): Promise<Listed[]> {
  const key = idKeyOf(kind);
  const found = await modelOf(kind)
    .find(after === undefined ? {} : { [key]: { $gt: after } }, { [key]: 1, updatedAt: 1, user: 1, _id: 0 })
    .sort({ [key]: 1, user: 1 })
    .limit(limit)
    .lean<Array<Record<string, unknown>>>();
  const listed: Listed[] = [];
  // An id two users hold is one index document (activities/search/search-documents.ts): the first user's.
  for (const document of found) {
    const id = String(document[key]);
    if (listed.at(-1)?.id === id) continue;
    listed.push({ id, updatedAt: document.updatedAt ? new Date(document.updatedAt as Date).toISOString() : new Date(0).toISOString(), user: String(document.user) });
  }
  return listed;
}

function assertAscending(side: string, listed: Listed[]) {
  for (let index = 1; index < listed.length; index += 1) {
    if (!(listed[index - 1]!.id < listed[index]!.id)) {
      throw ApplicationFailure.create({
        type: 'SearchOrderMismatch',
        nonRetryable: true,
        message: `${side} did not list ids in binary order (${listed[index - 1]!.id} before ${listed[index]!.id}); reconciliation compares both sides in that order (PostgreSQL: COLLATE "C")`,
      });
    }
  }
}

const sameTime = (left: string, right: string) => Date.parse(left) === Date.parse(right);

/**
 * One step of the merge of the index and the database, both walked in id order from `after`: everything up
 * to the smaller of the two pages' last ids is decided (present on one side only, or with another
 * updatedAt), and each difference is recorded as an outbox change; the indexer applies it from the
 * database's state then. Reconciliation itself never writes to the engine, so it cannot race the indexer.
 */
export async function reconcileStep(engine: SearchEngine, kind: SearchDocumentKind, after: string | undefined, pageSize: number) {
  const [indexed, stored] = await Promise.all([engine.listDocuments(kind, after, pageSize), listDatabaseDocuments(kind, after, pageSize)]);
  assertAscending(`the ${engine.name} index`, indexed);
  assertAscending('the database', stored);
  const indexEnd = indexed.length === pageSize ? indexed.at(-1)!.id : undefined;
  const storedEnd = stored.length === pageSize ? stored.at(-1)!.id : undefined;
  const bound = indexEnd === undefined ? storedEnd : storedEnd === undefined ? indexEnd : indexEnd < storedEnd ? indexEnd : storedEnd;
  const within = (entry: Listed) => bound === undefined || entry.id <= bound;
  const indexedById = new Map(indexed.filter(within).map((entry) => [entry.id, entry]));
  const storedById = new Map(stored.filter(within).map((entry) => [entry.id, entry]));
  const differing: Listed[] = [];
  for (const [id, entry] of storedById) {
    const inIndex = indexedById.get(id);
    if (!inIndex || !sameTime(inIndex.updatedAt, entry.updatedAt)) differing.push(entry);
  }
  for (const [id, entry] of indexedById) if (!storedById.has(id)) differing.push(entry);
  if (differing.length > 0) {
    await SearchOutbox.insertMany(differing.map((entry) => ({ kind: changeKindOf(kind), id: entry.id, ...(entry.user ? { user: entry.user } : {}) })), { ordered: false });
  }
  return { next: bound, checked: new Set([...indexedById.keys(), ...storedById.keys()]).size, enqueued: differing.length };
}

export function createReconcileSearchIndex(deps: { engine: SearchEngine; wakeIndexer: () => Promise<void> }) {
  return async function reconcileSearchIndex(input: ReconcileInput): Promise<ReconcileProgress> {
    // A retried attempt resumes where the last heartbeat said it was.
    const resumed = activityInfo().heartbeatDetails as ReconcileProgress | undefined;
    const progress: ReconcileProgress = resumed ?? { checked: 0, enqueued: 0 };
    for (;;) {
      const step = await reconcileStep(deps.engine, input.kind, progress.after, input.pageSize);
      progress.checked += step.checked;
      progress.enqueued += step.enqueued;
      if (step.enqueued > 0) await deps.wakeIndexer();
      if (step.next === undefined) return progress;
      progress.after = step.next;
      heartbeat(progress);
    }
  };
}
