import { User } from '../../shared/models/index.ts';

type UserDocument = Record<string, unknown> & { _id: unknown };

/**
 * The user a valid access token names, read once per burst instead of once per request: concurrent
 * requests for one user share one read (a client reconnecting 1,000 followers, a page firing a dozen
 * requests), and a read answers for `maxAgeMs` after it completed. The window is what a role change or a
 * deleted account can lag behind (1 s by default, far inside an access token's own 15-minute life);
 * LibreChat reads the user on every request, which under a burst is a database round trip per request.
 */
export function createUserLookup(options: { maxAgeMs?: number; maxEntries?: number } = {}) {
  const maxAgeMs = options.maxAgeMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { read: Promise<UserDocument | null>; settledAt?: number }>();

  return function findUser(id: string): Promise<UserDocument | null> {
    const now = Date.now();
    const entry = entries.get(id);
    if (entry && (entry.settledAt === undefined || now - entry.settledAt < maxAgeMs)) return entry.read;
    if (entries.size >= maxEntries) {
      // Drop what has expired; if everything is fresh, start over (a bounded map, never a leak).
      for (const [key, value] of entries) if (value.settledAt !== undefined && now - value.settledAt >= maxAgeMs) entries.delete(key);
      if (entries.size >= maxEntries) entries.clear();
    }
    const fresh: { read: Promise<UserDocument | null>; settledAt?: number } = { read: Promise.resolve(null) };
    fresh.read = User.findById(id)
      .lean<UserDocument>()
      .then(
        (user) => {
          fresh.settledAt = Date.now();
          return user ?? null;
        },
        (error: unknown) => {
          // A failed read is not remembered: the next request tries the database again.
          if (entries.get(id) === fresh) entries.delete(id);
          throw error;
        },
      );
    entries.set(id, fresh);
    return fresh.read;
  };
}
