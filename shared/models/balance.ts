import mongoose, { Schema } from 'mongoose';

/**
 * A user's credits, in LibreChat's shape (1,000 credits = $0.001). `pendingCharges` is durachat's: the ids
 * of transactions whose amount was added here but not yet marked applied on the transaction, so a retried
 * charge can tell, within this one document, whether its amount is already in (shared/balance-ledger.ts).
 */
const balanceSchema = new Schema({
  user: { type: String, required: true },
  tokenCredits: { type: Number, default: 0 },
  autoRefillEnabled: { type: Boolean, default: false },
  refillIntervalValue: { type: Number, default: 30 },
  refillIntervalUnit: { type: String, enum: ['seconds', 'minutes', 'hours', 'days', 'weeks', 'months'], default: 'days' },
  lastRefill: { type: Date, default: Date.now },
  refillAmount: { type: Number, default: 0 },
  pendingCharges: { type: [String], default: [] },
});
balanceSchema.index({ user: 1 }, { unique: true });

export const Balance = mongoose.models.Balance ?? mongoose.model('Balance', balanceSchema);
