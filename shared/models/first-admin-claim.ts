import mongoose, { Schema } from 'mongoose';

export const FIRST_ADMIN_CLAIM_ID = 'first-admin';

/**
 * A singleton document whose insertion makes a registration the first ADMIN. Counting users and then
 * inserting lets two racing first registrations both see zero users; an insert with a fixed `_id` has
 * exactly one winner on MongoDB and FerretDB alike, without transactions. The claim outlives the account:
 * if every account is deleted, delete this document too for the next registration to become ADMIN.
 */
const firstAdminClaimSchema = new Schema({ _id: { type: String } }, { timestamps: { createdAt: true, updatedAt: false } });

export const FirstAdminClaim = mongoose.models.FirstAdminClaim ?? mongoose.model('FirstAdminClaim', firstAdminClaimSchema);
