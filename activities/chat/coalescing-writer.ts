/**
 * Appends text deltas to a stream with at most one write in flight: text arriving while a write is
 * under way is joined into the next one. Idle streams get every token at once (no added latency);
 * under load, writes batch themselves, so Redis round trips and SSE events per token fall as the
 * number of concurrent replies rises. With `minIntervalMs`, writes are also spaced at least that far
 * apart (the first still goes at once). Order is kept because writes never overlap.
 */
export function createCoalescingWriter(write: (text: string) => Promise<void>, options: { minIntervalMs?: number } = {}) {
  const minIntervalMs = options.minIntervalMs ?? 0;
  let buffer = '';
  let inFlight: Promise<void> | undefined;
  let failure: unknown;

  function pump() {
    const text = buffer;
    buffer = '';
    const started = Date.now();
    inFlight = write(text).then(
      async () => {
        // Spacing writes out batches tokens further: fewer Redis writes and SSE events per token.
        const wait = minIntervalMs - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        inFlight = undefined;
        if (buffer && failure === undefined) pump();
      },
      (error) => {
        failure = error;
        inFlight = undefined;
      },
    );
  }

  return {
    /** Queues text; throws the first write failure so the caller stops reading the provider. */
    push(text: string) {
      if (failure !== undefined) throw failure;
      buffer += text;
      if (!inFlight) pump();
    },
    /** Waits until everything pushed so far is written. */
    async flush() {
      while (inFlight || (buffer && failure === undefined)) {
        if (!inFlight) pump();
        await inFlight;
      }
      if (failure !== undefined) throw failure;
    },
  };
}
