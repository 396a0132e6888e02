import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { requestMcpReinitialize } from '../../activities/tools/mcp/mcp-directory.ts';
import type { CredentialCipher } from '../../shared/credential-cipher.ts';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { isPerUserServer, type McpServersConfig } from '../../shared/mcp-config.ts';
import { mcpPluginKey, PluginAuth, pluginAuthContext } from '../../shared/models/plugin-auth.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';

const MCP_PLUGIN_PREFIX = 'mcp_';

/**
 * LibreChat's `POST /api/user/plugins` for MCP servers: a user's customUserVars, stored encrypted one field per
 * document (`pluginauths`), read back only by the worker that opens the user's connection
 * (activities/tools/mcp/user-values.ts). Values go in and never come out: the API answers only which are set.
 */
export function createUserPluginService(deps: { cipher: CredentialCipher; servers: McpServersConfig; redis: Redis; keys: RedisKeys }) {
  const { cipher, servers } = deps;

  function serverOf(pluginKey: string): string | undefined {
    if (!pluginKey.startsWith(MCP_PLUGIN_PREFIX)) return undefined;
    const serverName = pluginKey.slice(MCP_PLUGIN_PREFIX.length);
    if (!Object.hasOwn(servers, serverName)) throw new NotFoundError(`MCP server '${serverName}' not found`);
    return serverName;
  }

  /** The user's connection uses the old values until it is opened again: ask the workers to reopen it. */
  async function reconnect(userId: string, serverName: string) {
    if (!isPerUserServer(servers[serverName]!)) return;
    await requestMcpReinitialize(deps.redis, deps.keys, { requestId: randomUUID(), serverName, userId }).catch(() => 0);
  }

  return {
    /** The customUserVars this user has stored for a server. */
    async storedFields(userId: string, serverName: string): Promise<Set<string>> {
      const stored = await PluginAuth.find({ userId, pluginKey: mcpPluginKey(serverName) }, { authField: 1 }).lean<Array<{ authField: string }>>();
      return new Set(stored.map((document) => document.authField));
    },

    /**
     * Install: stores the given values (empty ones are skipped, so a form can leave a set value unchanged).
     * Uninstall: clears the given fields, or every field when none is given. Only MCP plugin keys carry
     * values; other plugin keys (built-in tools) need none and are accepted as they are.
     */
    async update(userId: string, request: { pluginKey: string; action: 'install' | 'uninstall'; auth?: Record<string, string> }): Promise<void> {
      const serverName = serverOf(request.pluginKey);
      if (!serverName) return;
      const declared = servers[serverName]!.customUserVars;
      const auth = request.auth ?? {};
      const unknown = Object.keys(auth).filter((field) => !Object.hasOwn(declared, field));
      if (unknown.length > 0) throw new ValidationError(`auth: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not declared by MCP server '${serverName}'`);
      const pluginKey = mcpPluginKey(serverName);
      if (request.action === 'uninstall') {
        const fields = Object.keys(auth);
        await PluginAuth.deleteMany({ userId, pluginKey, ...(fields.length > 0 ? { authField: { $in: fields } } : {}) });
      } else {
        for (const [authField, value] of Object.entries(auth)) {
          if (value === '') continue;
          await PluginAuth.updateOne({ userId, pluginKey, authField }, { $set: { value: cipher.encrypt(value, pluginAuthContext(userId, pluginKey, authField)) } }, { upsert: true });
        }
      }
      await reconnect(userId, serverName);
    },
  };
}
export type UserPluginService = ReturnType<typeof createUserPluginService>;
