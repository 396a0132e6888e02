export { createMcpPool, mcpToolKey, type McpPool, type McpPoolOptions, type McpPoolSnapshot, type UserValuesReader } from './mcp-pool.ts';
export { IDEMPOTENCY_META_KEY, type McpConnectionState, type McpLog } from './mcp-connection.ts';
export { McpUserValuesMissingError } from './user-server-config.ts';
export { createUserValuesReader } from './user-values.ts';
export { startMcpDirectoryPublisher, type McpDirectoryPublisherOptions } from './mcp-directory-publisher.ts';
