/** Every Redis key durachat uses, in one place, under the configured prefix. */
export function createRedisKeys(prefix: string) {
  return {
    rateLimit: (preset: string, subject: string) => `${prefix}rate:${preset}:${subject}`,
    chatStream: (streamId: string) => `${prefix}stream:${streamId}`,
    streamWriterFence: (streamId: string) => `${prefix}stream-fence:${streamId}`,
    runInfo: (streamId: string) => `${prefix}run:${streamId}`,
    userActiveRuns: (userId: string) => `${prefix}active-runs:${userId}`,
    conversationActiveRun: (userId: string, conversationId: string) => `${prefix}convo-run:${userId}:${conversationId}`,
    generatedTitle: (userId: string, conversationId: string) => `${prefix}title:${userId}:${conversationId}`,
  };
}
export type RedisKeys = ReturnType<typeof createRedisKeys>;
