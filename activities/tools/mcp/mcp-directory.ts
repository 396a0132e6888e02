import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../../shared/redis-keys.ts';
import type { McpConnectionState } from './mcp-connection.ts';
import type { McpPoolSnapshot } from './mcp-pool.ts';

/**
 * What the API knows about MCP servers, read from Redis: connections live only in worker processes, which
 * publish their servers' states and tool lists here (mcp-directory-publisher.ts). Plain Redis, no MCP SDK,
 * so the API can import it.
 */

export const MCP_DIRECTORY_TTL_SECONDS = 60;

export interface McpDirectoryTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface McpDirectory {
  servers: Record<string, { state: McpConnectionState; tools: McpDirectoryTool[] }>;
  /** Per user, the state of their own sessions to per-user servers. */
  users: Record<string, Record<string, McpConnectionState>>;
  /** Worker processes whose entry is fresh. */
  workers: number;
}

interface DirectoryEntry extends McpPoolSnapshot {
  updatedAt: number;
}

export interface McpReinitializeRequest {
  requestId: string;
  serverName: string;
  userId?: string;
}

export interface McpReinitializeResult {
  success: boolean;
  message: string;
}

/** Which of two states to show when workers disagree: any working connection counts. */
const STATE_RANK: Record<McpConnectionState, number> = { connected: 3, connecting: 2, error: 1, disconnected: 0 };
const better = (a: McpConnectionState | undefined, b: McpConnectionState) => (a === undefined || STATE_RANK[b] > STATE_RANK[a] ? b : a);

export async function publishMcpDirectory(redis: Redis, keys: RedisKeys, workerId: string, snapshot: McpPoolSnapshot, ttlSeconds = MCP_DIRECTORY_TTL_SECONDS): Promise<void> {
  const entry: DirectoryEntry = { ...snapshot, updatedAt: Date.now() };
  await redis.multi().hset(keys.mcpDirectory, workerId, JSON.stringify(entry)).expire(keys.mcpDirectory, ttlSeconds).exec();
}

export async function removeMcpDirectoryEntry(redis: Redis, keys: RedisKeys, workerId: string): Promise<void> {
  await redis.hdel(keys.mcpDirectory, workerId);
}

/** Every fresh worker entry merged: a server is as good as its best worker's connection; tools from the freshest list. */
export async function readMcpDirectory(redis: Redis, keys: RedisKeys, options: { ttlSeconds?: number; now?: number } = {}): Promise<McpDirectory> {
  const oldest = (options.now ?? Date.now()) - (options.ttlSeconds ?? MCP_DIRECTORY_TTL_SECONDS) * 1000;
  const entries = Object.values(await redis.hgetall(keys.mcpDirectory))
    .map((text) => {
      try {
        return JSON.parse(text) as DirectoryEntry;
      } catch {
        return undefined;
      }
    })
    .filter((entry): entry is DirectoryEntry => entry !== undefined && entry.updatedAt >= oldest)
    .sort((a, b) => b.updatedAt - a.updatedAt);
  const directory: McpDirectory = { servers: {}, users: {}, workers: entries.length };
  for (const entry of entries) {
    for (const [name, server] of Object.entries(entry.servers)) {
      const known = directory.servers[name];
      directory.servers[name] = {
        state: better(known?.state, server.state),
        tools: known && known.tools.length > 0 ? known.tools : server.tools,
      };
    }
    for (const [userId, states] of Object.entries(entry.users)) {
      const merged = (directory.users[userId] ??= {});
      for (const [name, state] of Object.entries(states)) merged[name] = better(merged[name], state);
    }
  }
  return directory;
}

/** The state the user sees for a server: their own session's for a per-user server, else the shared one. */
export function directoryState(directory: McpDirectory, serverName: string, userId: string, perUser: boolean): McpConnectionState {
  if (perUser) return directory.users[userId]?.[serverName] ?? 'disconnected';
  return directory.servers[serverName]?.state ?? 'disconnected';
}

/** Asks the workers to reconnect a server; resolves with how many worker processes heard it. */
export async function requestMcpReinitialize(redis: Redis, keys: RedisKeys, request: McpReinitializeRequest): Promise<number> {
  return redis.publish(keys.mcpReinitialize, JSON.stringify(request));
}

export async function recordMcpReinitializeResult(redis: Redis, keys: RedisKeys, requestId: string, result: McpReinitializeResult): Promise<void> {
  // NX: with several workers, the first answer stands (a later failure does not hide an earlier success).
  await redis.set(keys.mcpReinitializeResult(requestId), JSON.stringify(result), 'EX', 120, 'NX');
}

export async function readMcpReinitializeResult(redis: Redis, keys: RedisKeys, requestId: string): Promise<McpReinitializeResult | undefined> {
  const text = await redis.get(keys.mcpReinitializeResult(requestId));
  return text ? (JSON.parse(text) as McpReinitializeResult) : undefined;
}
