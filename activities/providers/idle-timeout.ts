import { ProviderStalledError } from './provider-errors.ts';

/**
 * Iterates a provider stream, treating `idleMs` without a chunk as a dropped connection: the request is
 * aborted and a retryable ProviderStalledError thrown, instead of waiting out the activity's whole bound.
 * Only the wait for the provider is timed, never the caller's work between chunks (a slow Redis write is
 * not a stalled provider). The wait is raced against the timer, so even an SDK that never settles after
 * an abort cannot hang the caller. `outer` is the activity's cancellation signal; its abort wins.
 */
export async function* withIdleTimeout<T>(open: (signal: AbortSignal) => AsyncIterable<T>, options: { idleMs: number; outer: AbortSignal }): AsyncGenerator<T> {
  const controller = new AbortController();
  const forward = () => controller.abort(options.outer.reason);
  if (options.outer.aborted) forward();
  options.outer.addEventListener('abort', forward, { once: true });
  const stalledError = () => new ProviderStalledError(`The provider sent nothing for ${Math.round(options.idleMs / 1000)} s; retrying`);
  const iterator = open(controller.signal)[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  try {
    while (true) {
      const stalled = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          const error = stalledError();
          controller.abort(error);
          reject(error);
        }, options.idleMs);
      });
      stalled.catch(() => undefined);
      let next: IteratorResult<T>;
      try {
        next = await Promise.race([iterator.next(), stalled]);
      } catch (error) {
        if (options.outer.aborted) throw options.outer.reason;
        throw error;
      } finally {
        clearTimeout(timer);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    options.outer.removeEventListener('abort', forward);
    // Ends the SDK's request if the caller stopped early; never waits on an SDK that does not settle.
    void iterator.return?.()?.catch?.(() => undefined);
  }
}
