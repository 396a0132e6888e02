import mongoose, { Schema } from 'mongoose';

/**
 * Changes waiting for the search index (issue 12): one small entry per saved, edited or deleted message and
 * per created, renamed, archived, tagged or deleted conversation. An entry names a document, never carries
 * it: the indexer reads the document as the database holds it when it drains the entry, so entries may be
 * replayed, duplicated or drained out of order and the index still ends up equal to the database.
 *
 * `_id` (an ObjectId) is the drain order; entries are removed by `_id` only after the engine accepted their
 * batch, so a crash between the two leaves them to be drained again. Plain inserts and `_id` range reads
 * only: MongoDB 6 and FerretDB both serve them without transactions.
 */
const searchOutboxSchema = new Schema(
  {
    kind: { type: String, enum: ['conversation', 'message'], required: true },
    /** conversationId or messageId. */
    id: { type: String, required: true },
    /** Whose document (for an operator reading the outbox); the indexer goes by the id alone. */
    user: { type: String },
    createdAt: { type: Date, default: () => new Date() },
  },
  { versionKey: false, collection: 'searchoutbox' },
);

export type SearchChangeKind = 'conversation' | 'message';
export interface SearchChange {
  kind: SearchChangeKind;
  id: string;
  user?: string;
}

export const SearchOutbox = mongoose.models.SearchOutbox ?? mongoose.model('SearchOutbox', searchOutboxSchema);
