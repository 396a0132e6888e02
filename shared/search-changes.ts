import type { Model } from 'mongoose';
import { SearchOutbox, type SearchChange, type SearchChangeKind } from './models/search-outbox.ts';

/**
 * Change capture for the search index (issue 12). Every write site of a conversation or a message calls
 * `recordSearchChanges` after its write; the entry lands in the outbox (shared/models/search-outbox.ts)
 * and the indexer workflow is woken to drain it (workflows/search-indexer.ts).
 *
 * Decisions:
 * - Process-wide, configured once by each composition root (api/app.ts, workers/create-workers.ts) when a
 *   search engine is configured; unconfigured (no search) it records nothing, so the outbox never grows
 *   where nothing drains it. The write sites are a dozen services and shared/close-run.ts: threading a
 *   recorder through every factory would change a dozen signatures for one line each.
 * - Recorded after the write, never before: an entry drained before its write landed would index the old
 *   state and nothing would follow. A crash between the write and the entry loses the entry; the scheduled
 *   reconciliation (workflows/search-reconcile.ts) finds that document by its updatedAt and fixes it.
 * - Never fails or delays the user's write: an outbox insert that fails is logged and left to the
 *   reconciliation; the wake-up is a fire-and-forget signal-with-start, one in flight per process.
 */
export interface SearchChangeCapture {
  /** Signals the indexer workflow (signal-with-start); awaited by nobody, its failure only logged. */
  wakeUp?: () => Promise<unknown>;
  /** How long a wake-up waits after the latest change (default WAKE_DELAY_MS); tests set 0. */
  wakeDelayMs?: number;
  /** The longest a wake-up waits after the first change while changes keep coming (default MAX_WAKE_DELAY_MS). */
  maxWakeDelayMs?: number;
  log?: (message: string, error?: unknown) => void;
}

let capture: SearchChangeCapture | undefined;
let wakeAgain = false;
/** When the first change that needs one more wake-up (wakeAgain) came: that wake-up's latest time counts from it. */
let wakeAgainSince = 0;
/** A monotonic clock: a wall clock stepped back would stretch the waits. */
const now = () => performance.now();
/**
 * The wake-up under way or waiting for its turn (one at a time; closing waits for it: see
 * stopSearchChangeCapture), with what ends it; undefined when there is none. While `timer` is set it waits
 * (a poke folds into it, stop sends it at once); once sent, a poke needs one more.
 */
interface PendingWake {
  done: Promise<void>;
  settle: () => void;
  send: () => void;
  timer?: NodeJS.Timeout;
  /** While waiting: when it is due, and the latest it may be put off to. */
  dueAt?: number;
  latestAt?: number;
}
let pendingWake: PendingWake | undefined;

const OUTBOX_INSERT_BATCH = 1000;

export function configureSearchChangeCapture(options: SearchChangeCapture | undefined): void {
  capture = options;
}

/**
 * Stops capturing for `options` (when it is still the process's capture) and waits for a wake-up under way.
 * Called when the API or worker closes its Temporal connection: a signal still in flight (or retrying) on a
 * closed connection fails outside any caller, as an uncaught exception.
 */
export async function stopSearchChangeCapture(options: SearchChangeCapture): Promise<void> {
  if (capture === options) {
    capture = undefined;
    wakeAgain = false;
    if (pendingWake?.timer) {
      // Waiting for its turn: sent now, while the caller's connection is still open (it covers changes
      // recorded up to a few seconds ago, which would otherwise wait for the indexer's own polling).
      clearTimeout(pendingWake.timer);
      pendingWake.send();
    }
  }
  // Waited for whoever closes: a wake-up under way (sent) may have gone through this caller's connection.
  // One still waiting belongs to another capture, whose own stop sends it.
  if (pendingWake && !pendingWake.timer) await pendingWake.done;
}

export function searchChangeCaptureEnabled(): boolean {
  return capture !== undefined;
}

function warn(message: string, error?: unknown) {
  (capture?.log ?? ((line: string, cause?: unknown) => console.warn(line, cause instanceof Error ? cause.message : (cause ?? ''))))(message, error);
}

/**
 * Wake-ups a process sends at most this often. Each is a signal-with-start, an event in the indexer's history
 * and Temporal server work; under load (every reply and request saved is a change) back-to-back signals
 * would cost more than the indexing. The indexer drains everything waiting at each wake-up, so folding the
 * pokes of 250 ms into one adds at most that to the indexing lag.
 */
const WAKE_INTERVAL_MS = 250;
let lastWakeAt = -Infinity;

/**
 * A change wakes the indexer this long after it, not at once. Most changes are a reply's end (the request,
 * the reply, the title), and the indexing they cause (a signal, workflow tasks, an outbox drain, engine
 * upserts) landed exactly when a user's next message was starting: on `npm start`'s stack, chats sent back to
 * back had 35 ms added to their time to first token without search and 68 ms with it (bench/README.md,
 * "One activity per turn"). A second is a small part of the indexing lag users see, and changes during the
 * wait fold into the same wake-up.
 *
 * A change during the wait puts the wake-up off again, to this long after it, up to MAX_WAKE_DELAY_MS after
 * the first: while this process keeps writing (replies closing one after another), the indexer drains every
 * five seconds, in bigger batches, instead of every second, each drain's fixed work (the outbox read, the
 * engine writes, the workflow task) shared by more changes and fewer drains landing on a chat's start
 * (bench/README.md, "Search on `npm start`'s stack"). A quiet process still sends it a second after its
 * last change.
 */
export const WAKE_DELAY_MS = 1000;
export const MAX_WAKE_DELAY_MS = 5000;

/** At most one wake-up in flight per process, at most one per WAKE_INTERVAL_MS; pokes meanwhile fold into one more. */
export function wakeSearchIndexer(): void {
  scheduleWake(now());
}

/** `firstChangeAt`: when the first change this wake-up covers came (its latest time counts from it). */
function scheduleWake(firstChangeAt: number): void {
  const wakeUp = capture?.wakeUp;
  if (!wakeUp) return;
  if (pendingWake) {
    // A wake-up still waiting covers this change (it was recorded before the signal goes), put off to a
    // delay after it within its latest time; one already sent may have been drained before it, so one more
    // follows.
    if (pendingWake.timer) putOff(pendingWake);
    else if (!wakeAgain) {
      wakeAgain = true;
      wakeAgainSince = now();
    }
    return;
  }
  let resolve!: () => void;
  const send = () => {
    wake.timer = undefined;
    lastWakeAt = now();
    let sending: Promise<unknown>;
    try {
      sending = wakeUp();
    } catch (error) {
      // A waker that throws at once still settles this wake-up (else every later change would wait on it).
      sending = Promise.reject(error);
    }
    sending
      .catch((error) => warn('search: could not wake the indexer (the scheduled reconciliation and its own polling catch up)', error))
      .finally(() => {
        wake.settle();
        if (wakeAgain) {
          wakeAgain = false;
          scheduleWake(wakeAgainSince);
        }
      });
  };
  const wake: PendingWake = {
    done: new Promise<void>((done) => (resolve = done)),
    settle: () => {
      if (pendingWake === wake) pendingWake = undefined;
      resolve();
    },
    send,
  };
  pendingWake = wake;
  const at = now();
  const wait = Math.max(capture?.wakeDelayMs ?? WAKE_DELAY_MS, lastWakeAt + WAKE_INTERVAL_MS - at);
  if (wait <= 0) send();
  else {
    wake.dueAt = at + wait;
    wake.latestAt = Math.max(wake.dueAt, firstChangeAt + (capture?.maxWakeDelayMs ?? MAX_WAKE_DELAY_MS));
    wake.timer = setTimeout(send, wait);
    wake.timer.unref();
  }
}

/** A change while `wake` waits: due a delay after this change, never after its latest time. */
function putOff(wake: PendingWake): void {
  const dueAt = Math.min(now() + (capture?.wakeDelayMs ?? WAKE_DELAY_MS), wake.latestAt!);
  // Re-armed only when it moves by more than a few milliseconds: a burst of changes costs no timer churn.
  if (dueAt - wake.dueAt! < 20) return;
  clearTimeout(wake.timer);
  wake.dueAt = dueAt;
  wake.timer = setTimeout(wake.send, dueAt - now());
  wake.timer.unref();
}

export async function recordSearchChanges(changes: SearchChange[]): Promise<void> {
  if (!capture || changes.length === 0) return;
  try {
    for (let start = 0; start < changes.length; start += OUTBOX_INSERT_BATCH) {
      await SearchOutbox.insertMany(changes.slice(start, start + OUTBOX_INSERT_BATCH), { ordered: false });
    }
  } catch (error) {
    warn(`search: ${changes.length} change(s) not recorded (the scheduled reconciliation will index them)`, error);
    return;
  }
  wakeSearchIndexer();
}

export const conversationChange = (user: string, id: string): SearchChange => ({ kind: 'conversation', id, user });
export const messageChange = (user: string, id: string): SearchChange => ({ kind: 'message', id, user });

/**
 * The changes a bulk write is about to make (delete many, tag many): read before the write, recorded after
 * it. Empty when capture is off, so no read is spent where nothing is indexed.
 */
export async function changesMatching(kind: SearchChangeKind, model: Model<any>, filter: Record<string, unknown>): Promise<SearchChange[]> {
  if (!capture) return [];
  const key = kind === 'conversation' ? 'conversationId' : 'messageId';
  const found = await model.find(filter, { [key]: 1, user: 1, _id: 0 }).lean<Array<Record<string, string>>>();
  return found.map((document) => ({ kind, id: document[key]!, user: document.user! }));
}
