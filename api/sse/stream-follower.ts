import type { ServerResponse } from 'node:http';
import type { SequencedEvent } from '../../shared/run-events.ts';
import { endsRun } from '../../shared/run-stream.ts';
import type { HubLogger } from './stream-reader.ts';

const KEEP_ALIVE = ': keep-alive\n\n';

export type FollowerEndReason = 'run-ended' | 'not-found' | 'behind' | 'stream-lost' | 'closing' | 'read-failed';

/**
 * One SSE response following one run stream. Live entries that arrive while it is still catching up are
 * buffered; then everything is written once, in order, by sequence number (the seq is the SSE id, so
 * "after the last written seq" is the whole rule against gaps and repeats). A response that cannot keep
 * up gets a queue of its own, so the other followers of the stream never wait for it.
 */
export interface StreamFollower {
  readonly afterSeq: number;
  readonly done: boolean;
  /** Resolves once the follower is finished: response ended, or the client went away. */
  readonly finished: Promise<void>;
  /** Live entries from the hub: buffered while catching up, written after. */
  push(items: SequencedEvent[]): void;
  /** Writes the catch-up read, then what was buffered meanwhile, and starts the keep-alives. */
  goLive(caughtUp: SequencedEvent[]): void;
  end(reason: FollowerEndReason): void;
}

export function createStreamFollower(options: {
  response: ServerResponse;
  afterSeq: number;
  encode: (item: SequencedEvent) => string | undefined;
  keepAliveMs: number;
  /** Events a follower may be behind (buffered or queued) before it is ended to reconnect with Last-Event-ID. */
  maxBehind: number;
  log: HubLogger;
  onDone: () => void;
}): StreamFollower {
  const { response, encode, maxBehind } = options;
  let lastSeq = options.afterSeq;
  let live = false;
  let done = false;
  let buffered: SequencedEvent[] = [];
  let queue: string[] = [];
  let queuedEvents = 0;
  let waitingForDrain = false;
  let keepAlive: NodeJS.Timeout | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));

  const writable = () => !response.destroyed && !response.writableEnded;
  const onClose = () => finish(undefined);
  response.once('close', onClose);

  function finish(reason: FollowerEndReason | undefined, lastChunk = ''): void {
    if (done) return;
    done = true;
    clearInterval(keepAlive);
    response.off('close', onClose);
    response.off('drain', onDrain);
    const pending = reason === 'run-ended' ? queue.join('') + lastChunk : '';
    buffered = [];
    queue = [];
    if (reason !== undefined && writable()) {
      // The end event goes out with what was queued before it; ending for any other reason drops the
      // queue: the client reconnects with the Last-Event-ID it did receive.
      response.end(pending);
      if (reason === 'behind') {
        options.log.info({ afterSeq: lastSeq }, 'SSE follower fell behind; ended so it reconnects with Last-Event-ID');
        // A client that stopped reading never lets the end flush; let the socket go.
        setTimeout(() => {
          if (!response.writableFinished) response.destroy();
        }, options.keepAliveMs).unref();
      }
    }
    options.onDone();
    resolveFinished();
  }

  function write(items: SequencedEvent[]): void {
    let chunk = '';
    let count = 0;
    for (const item of items) {
      if (item.seq <= lastSeq) continue;
      lastSeq = item.seq;
      const text = encode(item);
      if (text !== undefined) {
        chunk += text;
        count += 1;
      }
      if (endsRun(item)) return finish('run-ended', chunk);
    }
    if (count === 0) return;
    if (waitingForDrain) {
      queue.push(chunk);
      queuedEvents += count;
      if (queuedEvents > maxBehind) finish('behind');
      return;
    }
    send(chunk);
  }

  function send(chunk: string): void {
    if (!writable()) return finish(undefined);
    keepAlive?.refresh();
    if (!response.write(chunk)) {
      waitingForDrain = true;
      response.once('drain', onDrain);
    }
  }

  function onDrain(): void {
    waitingForDrain = false;
    if (done || queue.length === 0) return;
    const chunk = queue.join('');
    queue = [];
    queuedEvents = 0;
    send(chunk);
  }

  return {
    afterSeq: options.afterSeq,
    get done() {
      return done;
    },
    finished,
    push(items) {
      if (done) return;
      if (live) return write(items);
      for (const item of items) buffered.push(item);
      if (buffered.length > maxBehind) finish('behind');
    },
    goLive(caughtUp) {
      if (done) return;
      live = true;
      write(caughtUp);
      const meanwhile = buffered;
      buffered = [];
      if (!done) write(meanwhile);
      if (!done) {
        keepAlive = setInterval(() => {
          if (!waitingForDrain) send(KEEP_ALIVE);
        }, options.keepAliveMs).unref();
      }
    },
    end: (reason) => finish(reason),
  };
}
