import mongoose, { Schema } from 'mongoose';

/**
 * A saved set of conversation parameters. Not strict: LibreChat's client saves whatever parameters its
 * endpoint has (the route bounds the size and refuses operator keys), and answers them back as saved.
 */
const presetSchema = new Schema(
  {
    presetId: { type: String, required: true },
    user: { type: String, required: true },
    title: { type: String, default: 'New Chat' },
    defaultPreset: { type: Boolean },
    order: { type: Number },
  },
  { timestamps: true, strict: false },
);
// Unique across users, as in LibreChat: saving under another user's presetId cannot create a shadow copy.
presetSchema.index({ presetId: 1 }, { unique: true });
presetSchema.index({ user: 1 });

export const Preset = mongoose.models.Preset ?? mongoose.model('Preset', presetSchema);
