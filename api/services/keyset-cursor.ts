import { ValidationError } from '../../shared/errors.ts';

/**
 * Opaque paging cursors: a position in a (timestamp, id) order, base64url JSON. A keyset is stable under
 * inserts, unlike skip; `isValid` checks a decoded cursor's shape, so a forged one is a 400, not a crash.
 */
export function encodeCursor(cursor: object): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor<Cursor>(value: string, isValid: (cursor: Record<string, unknown>) => boolean): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (!cursor || typeof cursor !== 'object' || !isValid(cursor)) throw new Error('shape');
    return cursor as Cursor;
  } catch {
    throw new ValidationError('cursor: is not a cursor this server issued');
  }
}

export const isDateString = (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value));
