import mongoose, { Schema } from 'mongoose';

/** A refresh-token session: only the hash of the current refresh token is stored (rotation replaces it). */
const sessionSchema = new Schema({
  user: { type: Schema.Types.ObjectId, ref: 'User', required: true },
  refreshTokenHash: { type: String, required: true },
  /** When the current refresh token expires; rotation moves it forward, never past `absoluteExpiration`. */
  expiration: { type: Date, required: true },
  /** Login time + SESSION_ABSOLUTE_EXPIRY. Absent on sessions from before it existed (see auth-service). */
  absoluteExpiration: { type: Date },
});
sessionSchema.index({ user: 1 });
// No TTL index: FerretDB 1.24 refuses `expireAfterSeconds`. Expiry is checked on every refresh and a
// user's expired sessions are deleted whenever they log in (api/services/auth-service.ts), on both databases.

export const Session = mongoose.models.Session ?? mongoose.model('Session', sessionSchema);
