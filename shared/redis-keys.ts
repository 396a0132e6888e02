/** Every Redis key durachat uses, in one place, under the configured prefix. */
export function createRedisKeys(prefix: string) {
  return {
    rateLimit: (preset: string, subject: string) => `${prefix}rate:${preset}:${subject}`,
    chatStream: (streamId: string) => `${prefix}stream:${streamId}`,
    streamWriterFence: (streamId: string) => `${prefix}stream-fence:${streamId}`,
    runInfo: (streamId: string) => `${prefix}run:${streamId}`,
    /** A file's ingestion progress stream (shared/file-progress.ts). */
    fileProgress: (fileId: string) => `${prefix}file-progress:${fileId}`,
    userActiveRuns: (userId: string) => `${prefix}active-runs:${userId}`,
    conversationActiveRun: (userId: string, conversationId: string) => `${prefix}convo-run:${userId}:${conversationId}`,
    chatIdempotency: (userId: string, clientMessageId: string) => `${prefix}chat-request:${userId}:${clientMessageId}`,
    /** Every running run (sorted by start time): what the run sweeper checks against Temporal. */
    runningRuns: `${prefix}running-runs`,
    runSweeperLock: `${prefix}run-sweeper-lock`,
    generatedTitle: (userId: string, conversationId: string) => `${prefix}title:${userId}:${conversationId}`,
    workerHeartbeat: (workerId: string) => `${prefix}worker:${workerId}`,
    /** Hash: per worker process, its MCP servers' states and tool lists (activities/tools/mcp/mcp-directory.ts). */
    mcpDirectory: `${prefix}mcp-directory`,
    /** Pub/sub channel: the API asks the workers to reconnect an MCP server. */
    mcpReinitialize: `${prefix}mcp-reinitialize`,
    /** A worker's answer to one reinitialize request. */
    mcpReinitializeResult: (requestId: string) => `${prefix}mcp-reinitialize:${requestId}`,
    /** Pub/sub channel: a run was stopped (its stream id), so the worker streaming it stops at once (shared/run-stops.ts). */
    runStop: `${prefix}run-stop`,
  };
}
export type RedisKeys = ReturnType<typeof createRedisKeys>;
