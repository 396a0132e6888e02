import { Tiktoken } from 'js-tiktoken/lite';

/** js-tiktoken's rank file: `pat_str`, `special_tokens`, and `bpe_ranks` as lines of `<tag> <first rank> <base64 token> …`. */
export interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

/**
 * A js-tiktoken encoder built for counting only, with a fraction of the memory. js-tiktoken's constructor
 * keeps two tables, token bytes → rank (what `encode` uses) and rank → bytes (only `decode` uses it, as
 * 200,000 small Uint8Arrays), and builds them through an intermediate object of every token: o200k_base
 * took a thread from ~45 to ~200 MiB RSS (bench/README.md, "Worker memory"). Here the encoder is made with
 * no ranks and its encode table is filled line by line, in the format its own constructor writes (keys are
 * the token's bytes joined by commas), so `encode` behaves exactly as js-tiktoken's; `decode` is not available.
 */
export function createCountingEncoder(ranks: TiktokenRanks): Pick<Tiktoken, 'encode'> {
  const encoder = new Tiktoken({ ...ranks, bpe_ranks: '' });
  const rankMap = (encoder as unknown as { rankMap: Map<string, number> }).rankMap;
  if (!(rankMap instanceof Map)) throw new Error('js-tiktoken changed its internals: counting-encoder.ts needs updating');
  const text = ranks.bpe_ranks;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    if (lineEnd > lineStart) {
      const fields = text.slice(lineStart, lineEnd).split(' ');
      const offset = Number.parseInt(fields[1]!, 10);
      for (let index = 2; index < fields.length; index += 1) {
        rankMap.set(Buffer.from(fields[index]!, 'base64').join(','), offset + index - 2);
      }
    }
    lineStart = lineEnd + 1;
  }
  return encoder;
}
