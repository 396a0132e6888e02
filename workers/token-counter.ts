import { Piscina } from 'piscina';
import type { CountTokensTask } from './tasks/count-tokens.ts';

/** The worker process's CPU pool; activities get `countTokens` through their factory. */
export function createTokenCounter(options: { maxThreads?: number } = {}) {
  const pool = new Piscina<CountTokensTask, number[]>({
    filename: new URL('./tasks/count-tokens.ts', import.meta.url).href,
    minThreads: 1,
    maxThreads: options.maxThreads ?? 2,
    idleTimeout: 60_000,
  });
  return {
    countTokens(texts: string[], signal?: AbortSignal): Promise<number[]> {
      return pool.run({ texts }, { signal });
    },
    close: () => pool.destroy(),
  };
}
export type TokenCounter = ReturnType<typeof createTokenCounter>;
