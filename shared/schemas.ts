import { z } from 'zod';

/** Ids the client generates or echoes: UUIDs in LibreChat, but any short, safe token is accepted. */
export const idSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'must be an id (letters, digits, - and _)');

export const MAX_MESSAGE_TEXT_LENGTH = 100_000;
