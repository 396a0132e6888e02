import mongoose, { Schema } from 'mongoose';

export const ROOT_PARENT_MESSAGE_ID = '00000000-0000-0000-0000-000000000000';

const messageSchema = new Schema(
  {
    messageId: { type: String, required: true },
    conversationId: { type: String, required: true },
    user: { type: String, required: true },
    parentMessageId: { type: String, default: ROOT_PARENT_MESSAGE_ID },
    sender: { type: String },
    text: { type: String, default: '' },
    content: { type: [Schema.Types.Mixed], default: undefined },
    isCreatedByUser: { type: Boolean, required: true, default: false },
    model: { type: String },
    endpoint: { type: String },
    unfinished: { type: Boolean, default: false },
    error: { type: Boolean, default: false },
    finish_reason: { type: String },
    tokenCount: { type: Number },
    feedback: {
      type: new Schema({ rating: String, tag: Schema.Types.Mixed, text: String }, { _id: false }),
      default: undefined,
    },
    files: { type: [Schema.Types.Mixed], default: undefined },
    attachments: { type: [Schema.Types.Mixed], default: undefined },
  },
  { timestamps: true },
);
messageSchema.index({ messageId: 1, user: 1 }, { unique: true });
// Listing a conversation's messages in order; messageId settles ties, so keyset pages and prompt windows use it too.
messageSchema.index({ conversationId: 1, user: 1, createdAt: 1, messageId: 1 });

export const Message = mongoose.models.Message ?? mongoose.model('Message', messageSchema);
