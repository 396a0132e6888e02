import mongoose, { Schema } from 'mongoose';

/** A bookmark: a user's named tag, with how many of their conversations carry it and its place in their list. */
const conversationTagSchema = new Schema(
  {
    tag: { type: String, required: true },
    user: { type: String, required: true },
    description: { type: String },
    count: { type: Number, default: 0 },
    position: { type: Number, default: 0 },
  },
  { timestamps: true },
);
conversationTagSchema.index({ user: 1, tag: 1 }, { unique: true });
conversationTagSchema.index({ user: 1, position: 1 });

export const ConversationTag = mongoose.models.ConversationTag ?? mongoose.model('ConversationTag', conversationTagSchema);
