import mongoose, { Schema } from 'mongoose';

const conversationSchema = new Schema(
  {
    conversationId: { type: String, required: true },
    user: { type: String, required: true },
    title: { type: String, default: 'New Chat' },
    endpoint: { type: String },
    endpointType: { type: String },
    model: { type: String },
    promptPrefix: { type: String },
    system: { type: String },
    temperature: { type: Number },
    top_p: { type: Number },
    frequency_penalty: { type: Number },
    presence_penalty: { type: Number },
    maxOutputTokens: { type: Number },
    max_tokens: { type: Number },
    maxContextTokens: { type: Number },
    isArchived: { type: Boolean, default: false },
    tags: { type: [String], default: [] },
    files: { type: [String], default: undefined },
    agent_id: { type: String },
  },
  { timestamps: true },
);
// Ownership is part of every lookup, so the unique key is (conversationId, user).
conversationSchema.index({ conversationId: 1, user: 1 }, { unique: true });
// The list query: a user's conversations, newest first, filtered by archive state.
conversationSchema.index({ user: 1, isArchived: 1, updatedAt: -1 });

export const Conversation = mongoose.models.Conversation ?? mongoose.model('Conversation', conversationSchema);

/** Preset fields a chat request may set on its conversation (PROTOCOL.md). */
export const conversationParameterKeys = [
  'promptPrefix',
  'system',
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'maxOutputTokens',
  'max_tokens',
  'maxContextTokens',
] as const;
