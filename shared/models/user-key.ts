import mongoose, { Schema } from 'mongoose';

/**
 * A user's own credentials for one endpoint (LibreChat's `keys` collection): `value` is the AES-256-GCM
 * ciphertext of the string the client sent (shared/credential-cipher.ts), never the key itself. No TTL
 * index (FerretDB lacks them): an expired key stays until replaced or deleted and is refused on use.
 */
const userKeySchema = new Schema(
  {
    userId: { type: String, required: true },
    name: { type: String, required: true },
    value: { type: String, required: true },
    expiresAt: { type: Date },
  },
  { timestamps: true, collection: 'keys' },
);
userKeySchema.index({ userId: 1, name: 1 }, { unique: true });

export const UserKey = mongoose.models.UserKey ?? mongoose.model('UserKey', userKeySchema);
