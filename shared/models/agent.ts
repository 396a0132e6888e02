import mongoose, { Schema } from 'mongoose';

/**
 * LibreChat's `agents` collection (`ds/schema/agent.ts`): `id` is the public `agent_<21 chars>` name the
 * client uses everywhere; `_id` is what ACL entries point at. `versions` holds a full snapshot per real
 * update (api/services/agent-versions.ts). Mixed fields stay objects the client shapes
 * (model_parameters, tool_resources); the routes bound their size and refuse operator keys.
 */
const agentSchema = new Schema(
  {
    id: { type: String, required: true },
    name: { type: String },
    description: { type: String },
    instructions: { type: String },
    avatar: { type: new Schema({ filepath: String, source: String }, { _id: false }), default: undefined },
    /** The endpoint name (`openAI`, `anthropic`, a custom endpoint's name). */
    provider: { type: String, required: true },
    model: { type: String, required: true },
    model_parameters: { type: Schema.Types.Mixed, default: {} },
    artifacts: { type: String },
    access_level: { type: Number },
    recursion_limit: { type: Number },
    tools: { type: [String], default: [] },
    tool_kwargs: { type: [Schema.Types.Mixed], default: undefined },
    actions: { type: [String], default: undefined },
    author: { type: Schema.Types.ObjectId, required: true },
    authorName: { type: String },
    hide_sequential_outputs: { type: Boolean },
    end_after_tools: { type: Boolean },
    agent_ids: { type: [String], default: undefined },
    /** @deprecated in LibreChat (ACL replaced it); still read by the legacy revert check. */
    isCollaborative: { type: Boolean },
    conversation_starters: { type: [String], default: [] },
    tool_resources: { type: Schema.Types.Mixed, default: {} },
    projectIds: { type: [String], default: undefined },
    versions: { type: [Schema.Types.Mixed], default: [] },
    category: { type: String, default: 'general', trim: true },
    support_contact: { type: new Schema({ name: String, email: String }, { _id: false }), default: undefined },
    is_promoted: { type: Boolean, default: false },
  },
  // minimize: false keeps `{}` model_parameters/tool_resources as LibreChat returns them.
  { timestamps: true, minimize: false },
);
agentSchema.index({ id: 1 }, { unique: true });
// The list's order (updatedAt desc, _id asc) and its category filter.
agentSchema.index({ updatedAt: -1, _id: 1 });
agentSchema.index({ category: 1, updatedAt: -1 });
agentSchema.index({ author: 1 });

export const Agent = mongoose.models.Agent ?? mongoose.model('Agent', agentSchema);
