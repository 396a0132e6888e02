import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { findMcpServer, type McpServersConfig } from '../../../shared/mcp-config.ts';
import type { RedisKeys } from '../../../shared/redis-keys.ts';
import type { McpLog } from './mcp-connection.ts';
import {
  MCP_DIRECTORY_TTL_SECONDS,
  publishMcpDirectory,
  recordMcpReinitializeResult,
  removeMcpDirectoryEntry,
  type McpReinitializeRequest,
} from './mcp-directory.ts';
import type { McpPool } from './mcp-pool.ts';

export interface McpDirectoryPublisherOptions {
  /** Commands; a duplicate of it subscribes to reinitialize requests. */
  redis: Redis;
  keys: RedisKeys;
  pool: McpPool;
  servers: McpServersConfig;
  log?: McpLog;
  workerId?: string;
  /** How often the entry is refreshed when nothing changes (its TTL is four times this, at least 60 s). */
  intervalMs?: number;
}

/**
 * Runs in each worker process next to its MCP pool: connects the startup servers, publishes the pool's
 * servers and tools to the Redis directory (at once on every change, and every `intervalMs` so the entry
 * outlives its TTL only while the process lives), and reconnects a server when the API asks.
 */
export async function startMcpDirectoryPublisher(options: McpDirectoryPublisherOptions): Promise<{ stop: () => Promise<void> }> {
  const { redis, keys, pool, servers } = options;
  const log = options.log ?? { info: () => {}, warn: () => {} };
  const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
  const intervalMs = options.intervalMs ?? 15_000;
  const ttlSeconds = Math.max(MCP_DIRECTORY_TTL_SECONDS, Math.ceil((intervalMs * 4) / 1000));
  let stopped = false;

  const publish = () => {
    if (stopped) return Promise.resolve();
    return publishMcpDirectory(redis, keys, workerId, pool.snapshot(), ttlSeconds).catch((error) => log.warn({ err: (error as Error).message }, 'MCP directory not published'));
  };
  // Changes come in bursts (connecting, connected, tools): one write per burst.
  let pending: NodeJS.Timeout | undefined;
  const unsubscribe = pool.onChange(() => {
    pending ??= setTimeout(() => {
      pending = undefined;
      void publish();
    }, 50);
  });
  const refresh = setInterval(() => void publish(), intervalMs);
  refresh.unref();

  const subscriber = redis.duplicate({ connectionName: 'durachat-mcp-reinitialize', enableAutoPipelining: false });
  subscriber.on('message', (_channel: string, message: string) => {
    let request: McpReinitializeRequest;
    try {
      request = JSON.parse(message) as McpReinitializeRequest;
    } catch {
      return;
    }
    if (!findMcpServer(servers, request.serverName)) return;
    log.info({ server: request.serverName, userId: request.userId }, 'MCP server reinitialize requested');
    pool.reinitialize(request.serverName, request.userId).then(
      async () => {
        await publish();
        await recordMcpReinitializeResult(redis, keys, request.requestId, { success: true, message: `MCP server '${request.serverName}' reinitialized` });
      },
      async (error) => {
        await publish();
        await recordMcpReinitializeResult(redis, keys, request.requestId, { success: false, message: (error as Error).message });
      },
    ).catch((error) => log.warn({ err: (error as Error).message }, 'MCP reinitialize result not recorded'));
  });
  await subscriber.subscribe(keys.mcpReinitialize);

  pool.warmUp();
  await publish();

  return {
    async stop() {
      stopped = true;
      unsubscribe();
      clearTimeout(pending);
      clearInterval(refresh);
      await subscriber.quit().catch(() => {});
      await removeMcpDirectoryEntry(redis, keys, workerId).catch(() => {});
    },
  };
}
