export type DeltaKind = 'text' | 'reasoning';

export interface DeltaSegment {
  kind: DeltaKind;
  text: string;
}

/**
 * Appends text and reasoning deltas to a stream with at most one write in flight: deltas arriving while
 * a write is under way are joined into the next one (adjacent deltas of one kind become one segment, so
 * order across kinds is kept). Idle streams get every token at once (no added latency); under load,
 * writes batch themselves, so Redis round trips and SSE events per token fall as the number of concurrent
 * replies rises. With `minIntervalMs`, writes are also spaced at least that far apart (the first still
 * goes at once); a function lets the spacing grow, e.g. as a stream nears its length cap.
 */
export function createCoalescingWriter(write: (segments: DeltaSegment[]) => Promise<void>, options: { minIntervalMs?: number | (() => number) } = {}) {
  const minIntervalMs = typeof options.minIntervalMs === 'function' ? options.minIntervalMs : () => (options.minIntervalMs as number | undefined) ?? 0;
  let buffer: DeltaSegment[] = [];
  let inFlight: Promise<void> | undefined;
  let failure: unknown;

  function pump() {
    const segments = buffer;
    buffer = [];
    const started = Date.now();
    inFlight = write(segments).then(
      async () => {
        // Spacing writes out batches tokens further: fewer Redis writes and SSE events per token.
        const wait = minIntervalMs() - (Date.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        inFlight = undefined;
        if (buffer.length > 0 && failure === undefined) pump();
      },
      (error) => {
        failure = error;
        inFlight = undefined;
      },
    );
  }

  return {
    /** Queues a delta; throws the first write failure so the caller stops reading the provider. */
    push(kind: DeltaKind, text: string) {
      if (failure !== undefined) throw failure;
      const last = buffer.at(-1);
      if (last?.kind === kind) last.text += text;
      else buffer.push({ kind, text });
      if (!inFlight) pump();
    },
    /** Waits until everything pushed so far is written. */
    async flush() {
      while (inFlight || (buffer.length > 0 && failure === undefined)) {
        if (!inFlight) pump();
        await inFlight;
      }
      if (failure !== undefined) throw failure;
    },
  };
}
