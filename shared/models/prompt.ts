import mongoose, { Schema } from 'mongoose';

/** One version of a prompt group's text; the group's `productionId` names the one in use. */
const promptSchema = new Schema(
  {
    groupId: { type: Schema.Types.ObjectId, required: true },
    author: { type: String, required: true },
    prompt: { type: String, required: true },
    type: { type: String, enum: ['text', 'chat'], required: true },
  },
  { timestamps: true },
);
// A group's versions, newest first.
promptSchema.index({ groupId: 1, createdAt: -1 });
promptSchema.index({ author: 1, createdAt: -1 });

export const Prompt = mongoose.models.Prompt ?? mongoose.model('Prompt', promptSchema);
