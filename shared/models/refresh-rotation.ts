import mongoose, { Schema } from 'mongoose';

/**
 * One document per rotated refresh token, keyed by that token's hash. Inserting it is how a refresh claims
 * the rotation: the unique `_id` lets exactly one of several concurrent refreshes win on MongoDB and on
 * FerretDB 1.24 alike (FerretDB's conditional updates are a read then a write, so two could both "win").
 * A later request with the same token finds the document and, within REFRESH_GRACE_MS of `rotatedAt`,
 * gets the same successor token (re-signed from these fields) instead of being treated as reuse.
 * Documents older than the grace window are deleted on the session's next rotation and at login.
 */
const refreshRotationSchema = new Schema({
  _id: { type: String },
  session: { type: Schema.Types.ObjectId, ref: 'Session', required: true },
  user: { type: Schema.Types.ObjectId, ref: 'User', required: true },
  rotatedAt: { type: Date, required: true },
  /** The successor token's expiry. */
  expiration: { type: Date, required: true },
});
refreshRotationSchema.index({ session: 1 });
refreshRotationSchema.index({ user: 1 });

export const RefreshRotation = mongoose.models.RefreshRotation ?? mongoose.model('RefreshRotation', refreshRotationSchema);
