import mongoose, { Schema } from 'mongoose';

/**
 * A user's value for one auth field of a plugin (LibreChat's `pluginauths`): for MCP servers, pluginKey
 * `mcp_<server>` and one document per customUserVar. `value` is AES-256-GCM ciphertext
 * (shared/credential-cipher.ts) bound to the user, plugin and field, never the value itself.
 */
const pluginAuthSchema = new Schema(
  {
    userId: { type: String, required: true },
    pluginKey: { type: String, required: true },
    authField: { type: String, required: true },
    value: { type: String, required: true },
  },
  { timestamps: true, collection: 'pluginauths' },
);
pluginAuthSchema.index({ userId: 1, pluginKey: 1, authField: 1 }, { unique: true });

export const PluginAuth = mongoose.models.PluginAuth ?? mongoose.model('PluginAuth', pluginAuthSchema);

/** The cipher's context for one stored value: a ciphertext copied to another user, plugin or field does not decrypt. */
export function pluginAuthContext(userId: string, pluginKey: string, authField: string): string {
  return `${userId}\n${pluginKey}\n${authField}`;
}

/** LibreChat's plugin key for an MCP server's customUserVars. */
export function mcpPluginKey(serverName: string): string {
  return `mcp_${serverName}`;
}
