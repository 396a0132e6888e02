import type { Redis } from 'ioredis';
import { createMcpPool, createUserValuesReader, startMcpDirectoryPublisher, type McpLog, type McpPool } from '../activities/tools/mcp/index.ts';
import type { Config } from '../shared/config.ts';
import { createCredentialCipher } from '../shared/credential-cipher.ts';
import type { EndpointsConfig } from '../shared/endpoints-config.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';

/**
 * A worker process's MCP connections (only processes that serve agent runs have them; the API never
 * does): the pool the agent activities call tools through, and the publisher that tells the API which
 * servers and tools there are (Redis directory) and reconnects a server when the API asks.
 */
/** One line per event, the message first: the worker's log is read by people. */
const consoleLog: McpLog = {
  info: (meta, message) => console.log(`${message} ${JSON.stringify(meta)}`),
  warn: (meta, message) => console.warn(`${message} ${JSON.stringify(meta)}`),
};

export async function startMcpRuntime(options: { config: Config; endpoints: EndpointsConfig; redis: Redis; log?: McpLog }): Promise<{ pool: McpPool; stop: () => Promise<void> }> {
  const log = options.log ?? consoleLog;
  const pool = createMcpPool({ servers: options.endpoints.mcpServers, userValues: createUserValuesReader(createCredentialCipher(options.config.CREDS_KEY)), log });
  const publisher = await startMcpDirectoryPublisher({ redis: options.redis, keys: createRedisKeys(options.config.REDIS_KEY_PREFIX), pool, servers: options.endpoints.mcpServers, log });
  return {
    pool,
    async stop() {
      await publisher.stop();
      await pool.close();
    },
  };
}
