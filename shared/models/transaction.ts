import mongoose, { Schema } from 'mongoose';

/**
 * One charge or credit, in LibreChat's shape (`rawAmount` negative for spend, `tokenValue = rawAmount ×
 * rate`). `runId` (the run's stream id, or `refill-<user>-<time>` for a refill) with `tokenType` is unique:
 * it makes a run's charge exactly-once whatever retries. `applied` says the amount is in the balance.
 */
const transactionSchema = new Schema(
  {
    user: { type: String, required: true },
    runId: { type: String, required: true },
    conversationId: { type: String },
    messageId: { type: String },
    tokenType: { type: String, enum: ['prompt', 'completion', 'credits'], required: true },
    model: { type: String },
    context: { type: String },
    valueKey: { type: String },
    rate: { type: Number },
    rawAmount: { type: Number, default: 0 },
    tokenValue: { type: Number },
    inputTokens: { type: Number },
    writeTokens: { type: Number },
    readTokens: { type: Number },
    /** Where the count came from: the provider's reported usage, or an estimate when it reported none. */
    source: { type: String, enum: ['usage', 'estimate', 'refill'] },
    applied: { type: Boolean, default: false },
  },
  { timestamps: true },
);
transactionSchema.index({ runId: 1, tokenType: 1 }, { unique: true });
transactionSchema.index({ user: 1, createdAt: -1 });

export const Transaction = mongoose.models.Transaction ?? mongoose.model('Transaction', transactionSchema);
