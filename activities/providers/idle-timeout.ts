import { ProviderStalledError } from './provider-errors.ts';

/**
 * Iterates a provider stream, treating `idleMs` without a chunk as a dropped connection: the request is
 * aborted and a retryable ProviderStalledError thrown, instead of waiting out the activity's whole bound.
 * `outer` is the activity's cancellation signal; its abort wins (a cancellation, not a stall).
 */
export async function* withIdleTimeout<T>(open: (signal: AbortSignal) => AsyncIterable<T>, options: { idleMs: number; outer: AbortSignal }): AsyncGenerator<T> {
  const controller = new AbortController();
  const forward = () => controller.abort(options.outer.reason);
  if (options.outer.aborted) forward();
  options.outer.addEventListener('abort', forward, { once: true });
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort(new ProviderStalledError(`The provider sent nothing for ${Math.round(options.idleMs / 1000)} s`));
    }, options.idleMs);
  };
  const stalledError = () => new ProviderStalledError(`The provider sent nothing for ${Math.round(options.idleMs / 1000)} s; retrying`);
  try {
    arm();
    try {
      for await (const chunk of open(controller.signal)) {
        arm();
        yield chunk;
      }
    } catch (error) {
      if (stalled && !options.outer.aborted) throw stalledError();
      throw error;
    }
    // SDKs end an aborted stream quietly: say why it ended.
    if (stalled && !options.outer.aborted) throw stalledError();
  } finally {
    clearTimeout(timer);
    options.outer.removeEventListener('abort', forward);
  }
}
