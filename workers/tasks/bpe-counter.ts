/** js-tiktoken's rank file: `pat_str`, `special_tokens`, and `bpe_ranks` as lines of `<tag> <first rank> <base64 token> …`. */
export interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

/**
 * Counts tokens exactly as js-tiktoken's `encode(text, [], []).length` does (special-token text counted as
 * plain text), with the rank table in typed arrays instead of js-tiktoken's Map of 200,000 comma-joined
 * strings: ~5 MiB outside the JavaScript heap instead of ~16 MiB on it (measured with o200k_base), and
 * no string built per lookup.
 *
 * The table: every token's bytes in one buffer, and an open-addressing hash table (FNV-1a over the bytes,
 * linear probing) from a byte range to the token's rank. The count follows js-tiktoken step by step: the text
 * is split with the encoding's pattern; a piece that is a token whole counts one; otherwise its bytes are
 * merged pair by pair, always the adjacent pair whose joined bytes have the lowest rank (the first such pair
 * on a tie), until no adjacent pair is a token, and each part left is one token (every single byte is one in
 * these encodings). The merge is quadratic in a piece's length, as js-tiktoken's is: callers bound the
 * pieces (shared/bounded-token-count.ts).
 */
export function createBpeCounter(ranks: TiktokenRanks): (text: string) => number {
  const lines = ranks.bpe_ranks.split('\n').filter(Boolean);
  const decoded: Buffer[] = [];
  const tokenRanks: number[] = [];
  let totalBytes = 0;
  for (const line of lines) {
    const fields = line.split(' ');
    const first = Number.parseInt(fields[1]!, 10);
    for (let index = 2; index < fields.length; index += 1) {
      const bytes = Buffer.from(fields[index]!, 'base64');
      decoded.push(bytes);
      tokenRanks.push(first + index - 2);
      totalBytes += bytes.length;
    }
  }
  const count = decoded.length;
  const blob = new Uint8Array(totalBytes);
  const offsets = new Int32Array(count);
  const lengths = new Uint16Array(count);
  const rankOf = Int32Array.from(tokenRanks);
  let capacity = 1;
  while (capacity < count * 2) capacity *= 2;
  const mask = capacity - 1;
  const slots = new Int32Array(capacity).fill(-1);

  const hash = (bytes: Uint8Array, start: number, end: number) => {
    let value = 0x811c9dc5;
    for (let index = start; index < end; index += 1) value = Math.imul(value ^ bytes[index]!, 0x01000193);
    return value >>> 0;
  };

  /** Whether token `token`'s bytes (already in the blob) equal `bytes[start, end)`. */
  const sameBytes = (token: number, bytes: Uint8Array, start: number, end: number): boolean => {
    if (lengths[token] !== end - start) return false;
    const at = offsets[token]!;
    for (let index = start; index < end; index += 1) if (blob[at + index - start] !== bytes[index]) return false;
    return true;
  };

  let offset = 0;
  for (let token = 0; token < count; token += 1) {
    const bytes = decoded[token]!;
    blob.set(bytes, offset);
    offsets[token] = offset;
    lengths[token] = bytes.length;
    offset += bytes.length;
    let slot = hash(bytes, 0, bytes.length) & mask;
    // The same bytes listed twice: the later rank wins, as in js-tiktoken's table.
    while (slots[slot] !== -1 && !sameBytes(slots[slot]!, bytes, 0, bytes.length)) slot = (slot + 1) & mask;
    slots[slot] = token;
  }
  decoded.length = 0;

  /** The rank of `bytes[start, end)`, or -1 when it is not a token. */
  const lookup = (bytes: Uint8Array, start: number, end: number): number => {
    let slot = hash(bytes, start, end) & mask;
    for (;;) {
      const token = slots[slot]!;
      if (token === -1) return -1;
      if (sameBytes(token, bytes, start, end)) return rankOf[token]!;
      slot = (slot + 1) & mask;
    }
  };
  // Every part left after merging counts one token, which holds only when every single byte is one (as in
  // every tiktoken encoding; js-tiktoken would drop a part that is not).
  for (let byte = 0; byte < 256; byte += 1) {
    if (lookup(Uint8Array.of(byte), 0, 1) === -1) throw new Error(`bpe-counter: byte ${byte} is not a token of this encoding; counts would be wrong`);
  }

  const encoder = new TextEncoder();
  let buffer = new Uint8Array(1024);
  // Part boundaries (parts[i] .. parts[i + 1]) and the rank of each adjacent pair, reused across pieces.
  let bounds = new Int32Array(1024);
  let pairRanks = new Int32Array(1024);
  const NONE = 0x7fffffff;

  /** Tokens of one piece's UTF-8 bytes `buffer[0, length)`. */
  const countPiece = (length: number): number => {
    if (length === 1 || lookup(buffer, 0, length) !== -1) return 1;
    if (bounds.length < length + 1) {
      bounds = new Int32Array(length + 1);
      pairRanks = new Int32Array(length + 1);
    }
    let parts = length;
    for (let index = 0; index <= length; index += 1) bounds[index] = index;
    const pairRank = (index: number) => {
      if (index < 0 || index + 2 > parts) return NONE;
      const rank = lookup(buffer, bounds[index]!, bounds[index + 2]!);
      return rank === -1 ? NONE : rank;
    };
    for (let index = 0; index < parts - 1; index += 1) pairRanks[index] = pairRank(index);
    while (parts > 1) {
      let best = -1;
      let bestRank = NONE;
      for (let index = 0; index < parts - 1; index += 1) {
        if (pairRanks[index]! < bestRank) {
          bestRank = pairRanks[index]!;
          best = index;
        }
      }
      if (best === -1) break;
      // Merge parts best and best + 1: drop the boundary between them.
      bounds.copyWithin(best + 1, best + 2, parts + 1);
      pairRanks.copyWithin(best + 1, best + 2, parts);
      parts -= 1;
      pairRanks[best] = pairRank(best);
      if (best > 0) pairRanks[best - 1] = pairRank(best - 1);
    }
    return parts;
  };

  // matchAll works on a copy of the pattern (its own lastIndex): one compiled pattern serves every call.
  const pattern = new RegExp(ranks.pat_str, 'ug');
  return (text: string): number => {
    let tokens = 0;
    for (const match of text.matchAll(pattern)) {
      const piece = match[0];
      // A UTF-16 unit becomes at most 3 UTF-8 bytes.
      if (buffer.length < piece.length * 3) buffer = new Uint8Array(piece.length * 3);
      const { written } = encoder.encodeInto(piece, buffer);
      tokens += countPiece(written);
    }
    return tokens;
  };
}
