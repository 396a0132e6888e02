import { Piscina } from 'piscina';
import type { CountTokensTask } from './tasks/count-tokens.ts';
import { createO200kCounter } from './tasks/o200k-counter.ts';
import { taskThread } from '../shared/build-paths.ts';

/**
 * Texts up to this many characters in all are counted in the calling thread: a chat turn counts the user's
 * message and the reply (~0.2 ms per KB of text), and sending them to a pool thread cost more than counting
 * them, and a thread of its own with its own isolate and copy of the tables (bench/README.md, "Worker
 * memory"). Longer texts (prompts with files, long histories) go to the pool, off the event loop.
 */
export const INLINE_MAX_CHARS = 4096;

/** The worker process's token counting; activities get `countTokens` through their factory. */
export function createTokenCounter(options: { maxThreads?: number } = {}) {
  const pool = new Piscina<CountTokensTask, number[]>({
    // The task file, and tsx for its thread when it is TypeScript (shared/build-paths.ts).
    ...taskThread('count-tokens'),
    // No thread until a long text comes, and none again a minute after the last one.
    minThreads: 0,
    // One thread by default (TOKENIZER_THREADS): each holds its own copy of the tables.
    maxThreads: options.maxThreads ?? 1,
    idleTimeout: 60_000,
  });
  let inline: ((text: string) => number) | undefined;
  // Built soon after start (~150 ms of CPU), not in the first chat's path.
  const warm = setTimeout(() => (inline ??= createO200kCounter()), 0);
  warm.unref();
  return {
    async countTokens(texts: string[], signal?: AbortSignal): Promise<number[]> {
      signal?.throwIfAborted();
      const characters = texts.reduce((sum, text) => sum + text.length, 0);
      if (characters > INLINE_MAX_CHARS) return pool.run({ texts }, { signal });
      inline ??= createO200kCounter();
      return texts.map(inline);
    },
    close: () => {
      clearTimeout(warm);
      return pool.destroy();
    },
  };
}
export type TokenCounter = ReturnType<typeof createTokenCounter>;
