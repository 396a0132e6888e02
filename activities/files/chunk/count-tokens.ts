import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { countTokensBounded } from '../../../shared/bounded-token-count.ts';

let encoder: Tiktoken | undefined;

/**
 * Exact token count with o200k_base (GPT-4o family and the embedding models' budget ballpark). The
 * encoder's tables cost ~120 MiB and ~0.6 s to build, so it is built on first use, inside the thread
 * that chunks (the extraction pool's), never at import. Special-token text counts as plain text.
 */
export function countTokensO200k(text: string): number {
  const built = (encoder ??= new Tiktoken(o200kBase));
  return countTokensBounded((piece) => built.encode(piece, [], []).length, text);
}
