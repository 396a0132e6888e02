import { ValidationError } from '../../../shared/errors.ts';

/**
 * What both engines do to documents and queries before they reach the index.
 *
 * Texts are capped: PostgreSQL's tsvector holds at most 1 MB and positions up to 16,383, and a Meilisearch
 * document is best kept small. 100,000 characters (about 25,000 words) stay under the tsvector limit even in
 * the worst case (four-byte characters, one-letter words) and cover all but pasted dumps; words after the cap
 * are not found. NUL characters are dropped and lone surrogates replaced: PostgreSQL text (and jsonb) cannot
 * hold them, and one would make a batch fail on every retry.
 */
export const MAX_INDEXED_TEXT_CHARACTERS = 100_000;
export const MAX_INDEXED_TITLE_CHARACTERS = 1_000;
export const MAX_INDEXED_TAGS_CHARACTERS = 2_000;
/** Upper bound for a page of hits, whatever the caller asks for. */
export const MAX_SEARCH_LIMIT = 200;
/** Words of a query beyond this are ignored (a pasted paragraph must not become a 5,000-term query). */
const MAX_QUERY_WORDS = 32;
const MAX_QUERY_WORD_CHARACTERS = 100;

/** A surrogate without its other half: JSON carries it as `\udXXX`, which PostgreSQL's jsonb refuses. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Drops NULs, replaces lone surrogates with U+FFFD and cuts at `limit` UTF-16 units without splitting a pair. */
export function indexableText(text: string, limit: number): string {
  const clean = text.replaceAll('\u0000', '').replace(loneSurrogate, '\uFFFD');
  if (clean.length <= limit) return clean;
  const cut = /[\uD800-\uDBFF]/.test(clean[limit - 1] ?? '') ? limit - 1 : limit;
  return clean.slice(0, cut);
}

export function normalizedTime(value: string, what: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new ValidationError(`${what}: updatedAt "${value}" is not a date`);
  return new Date(time).toISOString();
}

/**
 * The words of a query: runs of letters, digits and combining marks, joined by single `.`, `_`, `@`, `-` or `/`
 * (so `e-mail`, `example.com` and `user@example.com` stay one word, as PostgreSQL's parser sees them).
 * Everything else (quotes, backslashes, `&|!():*<>`, spaces) only separates words, so no character a user
 * types can reach tsquery syntax: each word is later quoted, and a word holds neither `'` nor `\`.
 */
export function queryWords(text: string): string[] {
  const words = text.normalize('NFC').match(/[\p{L}\p{N}\p{M}]+(?:[._@/-][\p{L}\p{N}\p{M}]+)*/gu) ?? [];
  return words.slice(0, MAX_QUERY_WORDS).map((word) => Array.from(word).slice(0, MAX_QUERY_WORD_CHARACTERS).join(''));
}

export function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return 25;
  return Math.min(MAX_SEARCH_LIMIT, Math.max(1, Math.floor(limit)));
}

/** Cursors are opaque to callers: base64url JSON, checked on the way back in. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('invalid search cursor');
  }
  if (!isValid(value)) throw new ValidationError('invalid search cursor');
  return value;
}

/** Within one batch the newest version of each id wins (a later one at equal time): a batch may name an id twice. */
export function newestById<T extends { updatedAt: string }>(documents: T[], idOf: (document: T) => string): T[] {
  const newest = new Map<string, T>();
  for (const document of documents) {
    const id = idOf(document);
    const seen = newest.get(id);
    if (!seen || Date.parse(seen.updatedAt) <= Date.parse(document.updatedAt)) newest.set(id, document);
  }
  return [...newest.values()];
}

/**
 * A conversation's score: each field that matches adds 1 plus its relevance (0 ≤ relevance < 1), the title
 * its own match and the messages their best one. So a conversation matching in title and messages always
 * ranks above one matching in only one of them, and relevance orders within each group.
 */
export function conversationScore(titleRelevance: number | undefined, bestMessageRelevance: number | undefined): number {
  return (titleRelevance === undefined ? 0 : 1 + titleRelevance) + (bestMessageRelevance === undefined ? 0 : 1 + bestMessageRelevance);
}
