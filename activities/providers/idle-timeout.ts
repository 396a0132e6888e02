import { ProviderStalledError } from './provider-errors.ts';

/**
 * Iterates a provider stream, treating `idleMs` without a chunk as a dropped connection: the request is
 * aborted and a retryable ProviderStalledError thrown, instead of waiting out the activity's whole bound.
 * Only the wait for the provider is timed, never the caller's work between chunks (a slow Redis write is
 * not a stalled provider). The watchdog rejects the wait itself, so even an SDK that never settles after
 * an abort cannot hang the caller. `outer` is the activity's cancellation signal; its abort wins.
 *
 * One watchdog timer per stream, re-armed only when it fires (not one timer per chunk: at hundreds of
 * chunks per second across many streams, timers were a measurable share of the worker's CPU).
 */
export async function* withIdleTimeout<T>(open: (signal: AbortSignal) => AsyncIterable<T>, options: { idleMs: number; outer: AbortSignal }): AsyncGenerator<T> {
  const controller = new AbortController();
  /** Rejects the wait under way (set only while waiting for the provider). */
  let rejectWait: ((error: Error) => void) | undefined;
  // The caller's abort ends the wait at once too, not only when the SDK settles after its request is aborted.
  const forward = () => {
    controller.abort(options.outer.reason);
    rejectWait?.(options.outer.reason);
  };
  if (options.outer.aborted) forward();
  options.outer.addEventListener('abort', forward, { once: true });
  /** When the current wait for the provider began; undefined while the caller has the chunk. */
  let waitingSince: number | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  const check = () => {
    watchdog = undefined;
    if (waitingSince === undefined) return;
    const waited = Date.now() - waitingSince;
    if (waited >= options.idleMs) {
      const error = new ProviderStalledError(`The provider sent nothing for ${Math.round(options.idleMs / 1000)} s; retrying`);
      controller.abort(error);
      rejectWait?.(error);
    } else {
      watchdog = setTimeout(check, options.idleMs - waited);
    }
  };
  const iterator = open(controller.signal)[Symbol.asyncIterator]();
  try {
    while (true) {
      waitingSince = Date.now();
      watchdog ??= setTimeout(check, options.idleMs);
      let next: IteratorResult<T>;
      try {
        // One promise per wait that the watchdog can reject, not Promise.race against one long-lived stall
        // promise: a race leaves a reaction on that promise per chunk, held until the stream ends.
        next = await new Promise<IteratorResult<T>>((resolve, reject) => {
          rejectWait = reject;
          iterator.next().then(resolve, reject);
        });
      } catch (error) {
        if (options.outer.aborted) throw options.outer.reason;
        throw error;
      } finally {
        waitingSince = undefined;
        rejectWait = undefined;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(watchdog);
    options.outer.removeEventListener('abort', forward);
    // Ends the SDK's request if the caller stopped early; never waits on an SDK that does not settle.
    void iterator.return?.()?.catch?.(() => undefined);
  }
}
