import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { countTokensBounded } from '../../shared/bounded-token-count.ts';
import { createBpeCounter } from './bpe-counter.ts';

/**
 * Token counts with the o200k_base encoding (GPT-4o family), from js-tiktoken's rank file, counted by
 * bpe-counter.ts exactly as js-tiktoken would (~5 MiB of typed arrays, built once per thread that counts).
 * Special-token text (`<|endoftext|>` typed by a user or quoted in a reply) is counted as plain text:
 * js-tiktoken throws on it by default, which would fail saving the message that contains it. Bounded: a
 * message of one endless word would otherwise hold the thread for hours (shared/bounded-token-count.ts).
 */
export function createO200kCounter(): (text: string) => number {
  const count = createBpeCounter(o200kBase);
  return (text) => countTokensBounded(count, text);
}
