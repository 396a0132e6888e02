import type { Model } from 'mongoose';

/**
 * Inserts a document unless one with the same unique key exists (a retried activity); true when it
 * was inserted. Preferred to upserts: on FerretDB's SQLite backend an update rescans the collection
 * (~45 ms at 5,000 messages) while an insert does not, and both databases treat this the same.
 */
export async function insertIfAbsent(model: Model<any>, document: Record<string, unknown>): Promise<boolean> {
  try {
    await model.create(document);
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 11000) return false;
    throw error;
  }
}
