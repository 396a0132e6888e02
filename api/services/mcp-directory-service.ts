import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  directoryState,
  readMcpDirectory,
  readMcpReinitializeResult,
  requestMcpReinitialize,
  type McpDirectory,
} from '../../activities/tools/mcp/mcp-directory.ts';
import { NotFoundError, UnavailableError } from '../../shared/errors.ts';
import { isPerUserServer, parseMcpToolKey, type McpServerConfig, type McpServersConfig } from '../../shared/mcp-config.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import { MCP_DELIMITER } from '../../activities/tools/tool-types.ts';
import type { UserPluginService } from './user-plugin-service.ts';

/** How often the reinitialize route looks for a worker's answer. */
const POLL_INTERVAL_MS = 100;

/**
 * The API's view of MCP servers: config plus what the workers publish in the Redis directory. The API opens
 * no MCP connection; reinitializing is a request to the workers (pub/sub), answered through Redis.
 */
export function createMcpDirectoryService(deps: { redis: Redis; keys: RedisKeys; servers: McpServersConfig; userPlugins: Pick<UserPluginService, 'storedFields'> }) {
  const { redis, keys, servers } = deps;

  function serverOrThrow(serverName: string): McpServerConfig {
    const server = Object.hasOwn(servers, serverName) ? servers[serverName] : undefined;
    if (!server) throw new NotFoundError(`MCP server '${serverName}' not found`);
    return server;
  }

  /** LibreChat's authConfig: one entry per customUserVar. */
  const authConfigOf = (server: McpServerConfig) =>
    Object.entries(server.customUserVars).map(([authField, variable]) => ({ authField, label: variable.title, description: variable.description }));

  /** Whether the user has stored every value the server declares (always, when it declares none). */
  async function authenticated(userId: string, serverName: string): Promise<boolean> {
    const declared = Object.keys(servers[serverName]!.customUserVars);
    if (declared.length === 0) return true;
    const stored = await deps.userPlugins.storedFields(userId, serverName);
    return declared.every((field) => stored.has(field));
  }

  const read = (): Promise<McpDirectory> => readMcpDirectory(redis, keys);

  return {
    serverOrThrow,

    /** GET /api/mcp/tools: every configured server with its last published tools. */
    async tools(userId: string) {
      const directory = await read();
      const entries = await Promise.all(
        Object.entries(servers).map(async ([serverName, server]) => [
          serverName,
          {
            name: serverName,
            icon: server.iconPath,
            authenticated: await authenticated(userId, serverName),
            authConfig: authConfigOf(server),
            tools: (directory.servers[serverName]?.tools ?? []).map((tool) => ({ name: tool.name, pluginKey: `${tool.name}${MCP_DELIMITER}${serverName}`, description: tool.description })),
          },
        ]),
      );
      return { servers: Object.fromEntries(entries) };
    },

    /** LibreChat's TPlugin entries for every MCP tool (GET /api/agents/tools). */
    async plugins(userId: string) {
      const directory = await read();
      const plugins = [];
      for (const [serverName, server] of Object.entries(servers)) {
        const isAuthenticated = await authenticated(userId, serverName);
        for (const tool of directory.servers[serverName]?.tools ?? []) {
          plugins.push({
            name: tool.name,
            pluginKey: `${tool.name}${MCP_DELIMITER}${serverName}`,
            description: tool.description,
            icon: server.iconPath,
            authConfig: authConfigOf(server),
            authenticated: isAuthenticated,
          });
        }
      }
      return plugins;
    },

    /** Whether `<tool>_mcp_<server>` is a known MCP tool, and whether this user can use it. */
    async toolAuth(userId: string, toolKey: string): Promise<{ authenticated: boolean } | undefined> {
      const parsed = parseMcpToolKey(toolKey);
      if (!parsed || !Object.hasOwn(servers, parsed.serverName)) return undefined;
      const { serverName, toolName } = parsed;
      const directory = await read();
      if (!(directory.servers[serverName]?.tools ?? []).some((tool) => tool.name === toolName)) return undefined;
      return { authenticated: await authenticated(userId, serverName) };
    },

    async connectionStatus(userId: string) {
      const directory = await read();
      const connectionStatus = Object.fromEntries(
        Object.entries(servers).map(([serverName, server]) => [serverName, { requiresOAuth: false, connectionState: directoryState(directory, serverName, userId, isPerUserServer(server)) }]),
      );
      return { success: true, connectionStatus };
    },

    async serverStatus(userId: string, serverName: string) {
      const server = serverOrThrow(serverName);
      const directory = await read();
      return { success: true, serverName, connectionStatus: directoryState(directory, serverName, userId, isPerUserServer(server)), requiresOAuth: false };
    },

    async authValues(userId: string, serverName: string) {
      const server = serverOrThrow(serverName);
      const stored = await deps.userPlugins.storedFields(userId, serverName);
      return { success: true, serverName, authValueFlags: Object.fromEntries(Object.keys(server.customUserVars).map((field) => [field, stored.has(field)])) };
    },

    /**
     * Asks the workers to reconnect the server (the user's own session for a per-user server) and waits for the
     * first answer, up to the server's connect timeout and a margin.
     */
    async reinitialize(userId: string, serverName: string, options: { isAdmin?: boolean } = {}) {
      const server = serverOrThrow(serverName);
      const answer = (success: boolean, message: string) => ({ success, message, serverName, oauthRequired: false, oauthUrl: null });
      const perUser = isPerUserServer(server);
      if (perUser && !(await authenticated(userId, serverName))) {
        return answer(false, `MCP server '${serverName}' needs your values for ${Object.keys(server.customUserVars).join(', ')}`);
      }
      // A server shared by every user is only reconnected by a user when it is not working; a connected one
      // is left alone (closing it would break other users' calls under way) unless an admin asks.
      if (!perUser && !options.isAdmin && directoryState(await read(), serverName, userId, false) === 'connected') {
        return answer(true, `MCP server '${serverName}' is connected`);
      }
      const requestId = randomUUID();
      const listeners = await requestMcpReinitialize(redis, keys, { requestId, serverName, ...(perUser ? { userId } : {}) });
      if (listeners === 0) throw new UnavailableError('No worker is running to connect MCP servers; try again shortly');
      const deadline = Date.now() + Math.min(server.initTimeout + 5000, 35_000);
      while (Date.now() < deadline) {
        const result = await readMcpReinitializeResult(redis, keys, requestId);
        if (result) return answer(result.success, result.message);
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
      return answer(false, `MCP server '${serverName}' did not reconnect in time`);
    },
  };
}
export type McpDirectoryService = ReturnType<typeof createMcpDirectoryService>;
