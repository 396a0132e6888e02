import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { countTokensBounded } from '../../shared/bounded-token-count.ts';
import { createCountingEncoder } from './counting-encoder.ts';

/**
 * Token counts with the o200k_base encoding (GPT-4o family), from js-tiktoken's tables (pure JavaScript).
 * Building the table takes ~200 ms and ~25 MiB of heap, once per thread that counts.
 * Special-token text (`<|endoftext|>` typed by a user or quoted in a reply) is counted as plain text:
 * js-tiktoken throws on it by default, which would fail saving the message that contains it. Bounded: a
 * message of one endless word would otherwise hold the thread for hours (shared/bounded-token-count.ts).
 */
export function createO200kCounter(): (text: string) => number {
  // Only counts are needed: the encoder without js-tiktoken's decode table (counting-encoder.ts).
  const encoder = createCountingEncoder(o200kBase);
  return (text) => countTokensBounded((piece) => encoder.encode(piece, [], []).length, text);
}
