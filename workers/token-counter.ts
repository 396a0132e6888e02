import { Piscina } from 'piscina';
import type { CountTokensTask } from './tasks/count-tokens.ts';

/** The worker process's CPU pool; activities get `countTokens` through their factory. */
export function createTokenCounter(options: { maxThreads?: number } = {}) {
  const pool = new Piscina<CountTokensTask, number[]>({
    filename: new URL('./tasks/count-tokens.ts', import.meta.url).href,
    minThreads: 1,
    // One thread by default (TOKENIZER_THREADS): each thread holds its own copy of the tokenizer tables
    // (~120 MiB RSS), and chat runs count little (a thread that fits its budget by bytes is not counted).
    maxThreads: options.maxThreads ?? 1,
    idleTimeout: 60_000,
    // Task files are TypeScript: the threads load them through tsx whether or not the parent process
    // was started with it (vitest's forks are not).
    execArgv: process.execArgv.some((argument) => argument.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'],
  });
  return {
    countTokens(texts: string[], signal?: AbortSignal): Promise<number[]> {
      return pool.run({ texts }, { signal });
    },
    close: () => pool.destroy(),
  };
}
export type TokenCounter = ReturnType<typeof createTokenCounter>;
