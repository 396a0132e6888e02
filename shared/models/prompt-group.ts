import mongoose, { Schema } from 'mongoose';

/** LibreChat's `commands` limit (Constants.COMMANDS_MAX_LENGTH). */
export const PROMPT_COMMAND_MAX_LENGTH = 56;

const promptGroupSchema = new Schema(
  {
    name: { type: String, required: true },
    numberOfGenerations: { type: Number, default: 0 },
    oneliner: { type: String, default: '' },
    category: { type: String, default: '' },
    productionId: { type: Schema.Types.ObjectId, required: true },
    /** The owner's user id; every lookup includes it, so another user's group is simply not found. */
    author: { type: String, required: true },
    authorName: { type: String, required: true },
    command: { type: String },
  },
  { timestamps: true },
);
// LibreChat's list order (most used, then most recently updated), per owner.
promptGroupSchema.index({ author: 1, numberOfGenerations: -1, updatedAt: -1, _id: 1 });

export const PromptGroup = mongoose.models.PromptGroup ?? mongoose.model('PromptGroup', promptGroupSchema);
