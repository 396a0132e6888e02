import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { findMcpServer, isPerUserServer, type McpServersConfig } from '../../../shared/mcp-config.ts';
import { MCP_DELIMITER, type RunnableTool, type ToolCallContext, type ToolResult } from '../tool-types.ts';
import { McpConnection, type McpConnectionState, type McpLog } from './mcp-connection.ts';
import { McpUserValuesMissingError, withUserValues } from './user-server-config.ts';

/** LibreChat drops a user's connections after 15 minutes without use. */
const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;

export type UserValuesReader = (userId: string, serverName: string) => Promise<Record<string, string> | undefined>;

export interface McpPoolOptions {
  servers: McpServersConfig;
  /** The user's customUserVars for a server (activities/tools/mcp/user-values.ts reads them from the database). */
  userValues?: UserValuesReader;
  log: McpLog;
  idleTimeoutMs?: number;
}

/** What the directory publishes: per server its app-level state and last known tools; per user their own sessions. */
export interface McpPoolSnapshot {
  servers: Record<string, { state: McpConnectionState; tools: Array<{ name: string; description: string; parameters: Record<string, unknown> }> }>;
  users: Record<string, Record<string, McpConnectionState>>;
}

export function mcpToolKey(toolName: string, serverName: string): string {
  return `${toolName}${MCP_DELIMITER}${serverName}`;
}

/**
 * The worker process's MCP connections: one per server (app level), or one per user and server when the
 * server takes per-user values. Connections live only here, in worker processes; the API learns about them
 * through the Redis directory (mcp-directory.ts).
 */
export function createMcpPool(options: McpPoolOptions) {
  const { servers, log } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const connections = new Map<string, McpConnection>();
  const opening = new Map<string, Promise<McpConnection>>();
  /** The last tool list seen per server (from any of its connections), kept while it is down. */
  const knownTools = new Map<string, Tool[]>();
  const listeners = new Set<() => void>();
  let closed = false;

  const perUser = (serverName: string) => isPerUserServer(servers[serverName]!);
  const keyOf = (serverName: string, userId?: string) => (perUser(serverName) ? `${serverName}\n${userId ?? ''}` : serverName);

  function changed() {
    for (const connection of connections.values()) {
      if (connection.cachedTools) knownTools.set(connection.serverName, connection.cachedTools);
    }
    for (const listener of listeners) listener();
  }

  async function createConnection(serverName: string, userId: string | undefined): Promise<McpConnection> {
    let config = servers[serverName]!;
    if (perUser(serverName)) {
      if (!userId) throw new McpUserValuesMissingError(serverName, Object.keys(config.customUserVars));
      const values = (await options.userValues?.(userId, serverName)) ?? {};
      config = withUserValues(serverName, config, userId, values);
    }
    return new McpConnection({ serverName, config, log, onChange: changed });
  }

  /** The connection for this server (and user), created on first use. */
  async function connectionFor(serverName: string, userId?: string): Promise<McpConnection> {
    if (closed) throw new Error('MCP pool is closed');
    if (!findMcpServer(servers, serverName)) throw new Error(`Unknown MCP server '${serverName}'`);
    const key = keyOf(serverName, userId);
    const existing = connections.get(key);
    if (existing) return existing;
    let pending = opening.get(key);
    if (!pending) {
      pending = createConnection(serverName, userId).then((connection) => {
        connections.set(key, connection);
        return connection;
      });
      opening.set(key, pending);
      pending.then(
        () => opening.delete(key),
        () => opening.delete(key),
      );
    }
    return pending;
  }

  function runnable(serverName: string, tool: Tool): RunnableTool {
    return {
      definition: { name: mcpToolKey(tool.name, serverName), description: tool.description ?? tool.title ?? '', parameters: tool.inputSchema as Record<string, unknown> },
      call: (args, context) => callTool(serverName, tool.name, args, context),
    };
  }

  async function callTool(serverName: string, toolName: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolResult> {
    let connection: McpConnection;
    try {
      connection = await connectionFor(serverName, context.userId);
    } catch (error) {
      // The user has to act (set their values): the model and the user read why, no retry would help.
      if (error instanceof McpUserValuesMissingError) return { output: error.message, isError: true };
      throw error;
    }
    return connection.callTool(toolName, args, context);
  }

  /** Each server's state: the app-level connection's, or this user's for a per-user server. */
  function status(userId?: string): Record<string, McpConnectionState> {
    return Object.fromEntries(
      Object.keys(servers).map((serverName) => {
        const connection = perUser(serverName) && !userId ? undefined : connections.get(keyOf(serverName, userId));
        return [serverName, connection?.state ?? 'disconnected'];
      }),
    );
  }

  /** Drops per-user connections unused for `idleTimeoutMs` (never one with a call in flight). */
  const idleSweep = setInterval(() => {
    const now = Date.now();
    for (const [key, connection] of connections) {
      const busy = connection.inFlight > 0 || connection.state === 'connecting';
      if (!perUser(connection.serverName) || busy || now - connection.lastUsedAt < idleTimeoutMs) continue;
      connections.delete(key);
      void connection.close();
    }
  }, Math.min(60_000, Math.max(1000, idleTimeoutMs / 4)));
  idleSweep.unref();

  return {
    /**
     * The tools of these servers (all when not given) for this user, named `<tool>_mcp_<server>`. A server
     * named explicitly that cannot be reached throws ToolUnavailableError (retryable); when listing all
     * servers, one that is down, unknown, or lacks the user's values is left out with a warning.
     */
    async tools(userId: string, serverNames?: string[]): Promise<RunnableTool[]> {
      const names = serverNames ?? Object.keys(servers);
      const lists = await Promise.all(
        names.map(async (serverName) => {
          try {
            const connection = await connectionFor(serverName, userId);
            const tools = await connection.listTools();
            return tools.map((tool) => runnable(serverName, tool));
          } catch (error) {
            const tolerated = serverNames === undefined || error instanceof McpUserValuesMissingError || !findMcpServer(servers, serverName);
            if (!tolerated) throw error;
            log.warn({ server: serverName, err: (error as Error).message }, 'MCP server left out of the tool list');
            return [];
          }
        }),
      );
      return lists.flat();
    },

    status,

    /**
     * Instructions to add to the system prompt for these servers (`serverInstructions`: a string is used as
     * is; `true` means the server's own, from its initialize answer, so the server is connected first).
     */
    async instructions(userId: string, serverNames: string[]): Promise<Record<string, string>> {
      const found: Record<string, string> = {};
      for (const serverName of serverNames) {
        const setting = findMcpServer(servers, serverName)?.serverInstructions;
        if (typeof setting === 'string') found[serverName] = setting;
        if (setting !== true) continue;
        try {
          const connection = await connectionFor(serverName, userId);
          await connection.connect();
          if (connection.instructions) found[serverName] = connection.instructions;
        } catch (error) {
          log.warn({ server: serverName, err: (error as Error).message }, 'MCP server instructions not read');
        }
      }
      return found;
    },

    /** Closes and opens again the server's connection (the user's, for a per-user server; all users' without one). */
    async reinitialize(serverName: string, userId?: string): Promise<void> {
      if (!findMcpServer(servers, serverName)) throw new Error(`Unknown MCP server '${serverName}'`);
      const keys = perUser(serverName) && !userId ? [...connections.keys()].filter((key) => key.startsWith(`${serverName}\n`)) : [keyOf(serverName, userId)];
      await Promise.all(
        keys.map(async (key) => {
          const connection = connections.get(key);
          connections.delete(key);
          await connection?.close();
        }),
      );
      changed();
      if (perUser(serverName) && !userId) return;
      const connection = await connectionFor(serverName, userId);
      await connection.listTools();
    },

    /** Connects the app-level servers marked `startup` (in the background; failures retry with backoff). */
    warmUp(): void {
      for (const [serverName, config] of Object.entries(servers)) {
        if (!config.startup || perUser(serverName)) continue;
        connectionFor(serverName)
          .then((connection) => connection.listTools())
          .catch((error) => log.warn({ server: serverName, err: (error as Error).message }, 'MCP server not connected at start-up'));
      }
    },

    snapshot(): McpPoolSnapshot {
      const snapshot: McpPoolSnapshot = { servers: {}, users: {} };
      const appStates = status();
      for (const serverName of Object.keys(servers)) {
        const tools = knownTools.get(serverName) ?? [];
        snapshot.servers[serverName] = {
          state: appStates[serverName]!,
          tools: tools.map((tool) => ({ name: tool.name, description: tool.description ?? tool.title ?? '', parameters: tool.inputSchema as Record<string, unknown> })),
        };
      }
      for (const [key, connection] of connections) {
        if (!perUser(connection.serverName)) continue;
        const userId = key.slice(connection.serverName.length + 1);
        (snapshot.users[userId] ??= {})[connection.serverName] = connection.state;
      }
      return snapshot;
    },

    /** Called on every connection state change and new tool list; returns the unsubscribe function. */
    onChange(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close(): Promise<void> {
      closed = true;
      clearInterval(idleSweep);
      const all = [...connections.values()];
      connections.clear();
      await Promise.all(all.map((connection) => connection.close()));
      listeners.clear();
    },
  };
}
export type McpPool = ReturnType<typeof createMcpPool>;
