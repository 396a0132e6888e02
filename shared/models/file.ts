import mongoose, { Schema } from 'mongoose';

/** durachat's ingestion progress (the ingestion workflow moves it along); LibreChat's clients ignore it. */
export const FILE_STATUSES = ['pending', 'extracting', 'embedding', 'ready', 'error'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

/**
 * LibreChat's `files` collection (`ds/schema/file.ts`), plus durachat's `status`/`error` and where the bytes
 * are (`storageKey` in the `source` strategy; `filepath` is only what the client is shown).
 */
const fileSchema = new Schema(
  {
    user: { type: Schema.Types.ObjectId, required: true, index: true },
    conversationId: { type: String },
    file_id: { type: String, required: true },
    temp_file_id: { type: String },
    bytes: { type: Number, required: true },
    filename: { type: String, required: true },
    filepath: { type: String, required: true },
    object: { type: String, required: true, default: 'file' },
    embedded: { type: Boolean, default: false },
    type: { type: String, required: true },
    /**
     * The extracted text (capped at STORED_TEXT_MAX_CHARS), written by the ingestion right after extraction:
     * what a chat sends the model when the file is attached (activities/chat/attached-files.ts). Never in
     * the public views (api/services/file-views.ts): it can be large, and the client has the file itself.
     */
    text: { type: String },
    /** durachat: the stored `text` stops at the cap (the file has more). */
    textTruncated: { type: Boolean },
    context: { type: String },
    usage: { type: Number, required: true, default: 0 },
    source: { type: String, default: 'local' },
    model: { type: String },
    width: { type: Number },
    height: { type: Number },
    metadata: { type: Schema.Types.Mixed },
    /** durachat: the object's key in its storage strategy (`<userId>/<file_id>`). */
    storageKey: { type: String, required: true },
    sha256: { type: String },
    status: { type: String, enum: FILE_STATUSES, required: true, default: 'pending' },
    /** With status `error`: what went wrong, in words a user understands. */
    error: { type: String },
    /** Set by the ingestion workflow: how many chunks were indexed. */
    chunks: { type: Number },
    /** The endpoint and tool resource it was uploaded for (the ingestion workflow reads them). */
    endpoint: { type: String },
    tool_resource: { type: String },
    agent_id: { type: String },
  },
  { timestamps: true },
);
fileSchema.index({ file_id: 1 }, { unique: true });
fileSchema.index({ user: 1, updatedAt: -1 });

export const File = mongoose.models.File ?? mongoose.model('File', fileSchema);
