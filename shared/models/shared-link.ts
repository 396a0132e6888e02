import mongoose, { Schema } from 'mongoose';

/**
 * A public link to a snapshot of a conversation: the ids of its messages when it was shared (or last
 * refreshed). The messages themselves stay where they are and are read, anonymised, when the link is opened.
 */
const sharedLinkSchema = new Schema(
  {
    shareId: { type: String, required: true },
    conversationId: { type: String, required: true },
    user: { type: String, required: true },
    title: { type: String, default: 'Untitled' },
    messageIds: { type: [String], default: [] },
    targetMessageId: { type: String },
    isPublic: { type: Boolean, default: true },
  },
  { timestamps: true },
);
sharedLinkSchema.index({ shareId: 1 }, { unique: true });
// One link per conversation and owner.
sharedLinkSchema.index({ user: 1, conversationId: 1 }, { unique: true });
sharedLinkSchema.index({ user: 1, createdAt: -1 });

export const SharedLink = mongoose.models.SharedLink ?? mongoose.model('SharedLink', sharedLinkSchema);
