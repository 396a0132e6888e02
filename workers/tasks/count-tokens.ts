/**
 * Piscina task: token counts with the o200k_base encoding (GPT-4o family) from js-tiktoken, pure
 * JavaScript, so it runs on a worker thread without native code. Encoding a long prompt takes
 * milliseconds of CPU, which must not stall the worker's event loop while other replies stream.
 */
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { countTokensBounded } from '../../shared/bounded-token-count.ts';
import { createCountingEncoder } from './counting-encoder.ts';

// Only counts are needed: the encoder without js-tiktoken's decode table (counting-encoder.ts).
const encoder = createCountingEncoder(o200kBase);

export interface CountTokensTask {
  texts: string[];
}

export default function countTokens(task: CountTokensTask): number[] {
  // Special-token text (`<|endoftext|>` typed by a user or quoted in a reply) is counted as plain text:
  // js-tiktoken throws on it by default, which would fail saving the message that contains it.
  // Bounded: a message of one endless word would otherwise hold this thread for hours (shared/bounded-token-count.ts).
  return task.texts.map((text) => countTokensBounded((piece) => encoder.encode(piece, [], []).length, text));
}
