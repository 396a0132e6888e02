import { createHash } from 'node:crypto';
import type { ExtractedDocument } from '../extract/extracted-document.ts';
import { countTokensO200k } from './count-tokens.ts';
import { BreakStrength, segmentText, type TextPiece } from './segment-text.ts';

export interface DocumentChunk {
  index: number;
  text: string;
  /** Page numbers the chunk's text comes from, ascending (empty where the format has no pages). */
  pages: number[];
  /** Page labels (spreadsheet sheet names) the chunk spans, where the format names its pages. */
  pageLabels?: string[];
  /** Tokens by `countTokens`, summed over the pieces the chunk was built from (within ~1% of a count of the whole text). */
  tokenEstimate: number;
  /** SHA-256 of `text`: the same text always gets the same hash, so re-runs can upsert instead of duplicating. */
  hash: string;
}

export interface ChunkOptions {
  chunkTokens?: number;
  overlapTokens?: number;
  /** Defaults to an exact o200k_base count (js-tiktoken); call the chunker on the extraction pool. */
  countTokens?: (text: string) => number;
}

interface PlacedPiece extends TextPiece {
  pageIndex: number;
}

// A cut is moved back to a stronger boundary (page, paragraph, line, sentence) only while the chunk keeps
// at least this share of its budget, so chunks stay useful in size.
const minimumFill = 0.6;

/** What a separator costs: a line break is a token of its own; a space merges into the next word's token. */
const separatorTokens = (separator: string) => (separator.includes('\n') ? 1 : 0);

/**
 * Splits a document into overlapping chunks of at most `chunkTokens` tokens, cut at the strongest
 * boundary within reach (page, paragraph, line, sentence, word; inside a word only when one word is
 * longer than the overlap), each carrying the pages it spans. Pure and deterministic: the same document
 * and options always give the same chunks, which the ingestion workflow relies on for idempotent re-runs.
 * A page with a `header` (a table's column names) repeats it at the top of each chunk that starts inside it.
 */
export function chunkDocument(document: ExtractedDocument, options: ChunkOptions = {}): DocumentChunk[] {
  const chunkTokens = Math.max(16, Math.floor(options.chunkTokens ?? 400));
  // Overlap above half a chunk would make chunks that add less than they repeat.
  const overlapTokens = Math.max(0, Math.min(Math.floor(options.overlapTokens ?? 60), Math.floor(chunkTokens / 2)));
  const countTokens = options.countTokens ?? countTokensO200k;

  const headers = document.pages.map((page) => {
    if (!page.header) return undefined;
    const tokens = countTokens(page.header) + 1;
    // A header that would eat most of the budget is not worth repeating.
    return tokens <= chunkTokens / 4 ? { text: page.header, tokens } : undefined;
  });
  const pieces: PlacedPiece[] = [];
  document.pages.forEach((page, pageIndex) => {
    const room = chunkTokens - (headers[pageIndex]?.tokens ?? 0);
    // Pieces no larger than the overlap, so an overlap can always be taken on a piece boundary, and no
    // larger than what fits beside an overlap in a chunk.
    const maxPieceTokens = Math.max(1, Math.min(overlapTokens || room, room - overlapTokens));
    for (const piece of segmentText(page.text, maxPieceTokens, countTokens, BreakStrength.Page)) pieces.push({ ...piece, pageIndex });
  });
  if (pieces.length === 0) return [];

  // cumulative[i]: cost of pieces[0..i) with their separators; a range's cost drops its first separator.
  const cumulative = [0];
  for (const piece of pieces) cumulative.push(cumulative.at(-1)! + piece.tokens + separatorTokens(piece.separator));
  const rangeCost = (from: number, to: number) => cumulative[to]! - cumulative[from]! - separatorTokens(pieces[from]!.separator);

  const chunks: DocumentChunk[] = [];
  let start = 0;
  let previousCut = 0;
  while (start < pieces.length) {
    const pageIndex = pieces[start]!.pageIndex;
    const startsPage = start === 0 || pieces[start - 1]!.pageIndex !== pageIndex;
    const header = startsPage ? undefined : headers[pageIndex];
    const budget = chunkTokens - (header?.tokens ?? 0);
    let end = start + 1;
    while (end < pieces.length && rangeCost(start, end + 1) <= budget) end += 1;
    if (end <= previousCut) {
      // The overlap left no room for anything new (a larger header on this page): start fresh instead.
      start = previousCut;
      continue;
    }
    let cut = end;
    if (end < pieces.length) {
      // Move the cut back to the strongest boundary that keeps the chunk full enough; the latest on ties.
      for (let candidate = end; candidate > Math.max(start + 1, previousCut); candidate -= 1) {
        if (rangeCost(start, candidate) < budget * minimumFill) break;
        if (pieces[candidate]!.strength > pieces[cut]!.strength) cut = candidate;
      }
    }
    chunks.push(buildChunk(chunks.length, pieces, start, cut, header?.text, document, rangeCost(start, cut) + (header?.tokens ?? 0)));
    if (cut >= pieces.length) break;
    previousCut = cut;
    start = overlapStart(pieces, start, cut, overlapTokens, rangeCost);
  }
  return chunks;
}

/**
 * Where the next chunk starts: inside the previous one by at most `overlapTokens`, at the strongest
 * boundary among starts that repeat at least a third of the overlap (the longest overlap on ties).
 */
function overlapStart(pieces: TextPiece[], start: number, cut: number, overlapTokens: number, rangeCost: (from: number, to: number) => number): number {
  if (overlapTokens === 0) return cut;
  let best = cut;
  for (let candidate = cut - 1; candidate > start; candidate -= 1) {
    const cost = rangeCost(candidate, cut);
    if (cost > overlapTokens) break;
    const bestCost = best === cut ? 0 : rangeCost(best, cut);
    const enough = cost >= overlapTokens / 3;
    const bestEnough = bestCost >= overlapTokens / 3;
    if (best === cut || (enough && !bestEnough) || (enough === bestEnough && pieces[candidate]!.strength >= pieces[best]!.strength)) best = candidate;
  }
  return best;
}

function buildChunk(index: number, pieces: PlacedPiece[], start: number, end: number, header: string | undefined, document: ExtractedDocument, tokenEstimate: number): DocumentChunk {
  let text = header ? `${header}\n` : '';
  const pageIndexes = new Set<number>();
  for (let position = start; position < end; position += 1) {
    const piece = pieces[position]!;
    if (position > start) text += piece.separator;
    text += piece.text;
    pageIndexes.add(piece.pageIndex);
  }
  const spanned = [...pageIndexes].sort((a, b) => a - b).map((pageIndex) => document.pages[pageIndex]!);
  const pages = [...new Set(spanned.flatMap((page) => (page.number === undefined ? [] : [page.number])))].sort((a, b) => a - b);
  const labels = spanned.flatMap((page) => (page.label === undefined ? [] : [page.label]));
  return {
    index,
    text,
    pages,
    ...(labels.length ? { pageLabels: labels } : {}),
    tokenEstimate,
    hash: createHash('sha256').update(text).digest('hex'),
  };
}
