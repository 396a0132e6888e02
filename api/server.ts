import { loadConfigOrExit } from '../shared/config.ts';
import { connectDatabase, disconnectDatabase } from '../shared/database.ts';
import { loadEndpointsConfigOrExit } from '../shared/endpoints-config.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { buildServer } from './build-server.ts';

const config = loadConfigOrExit();
const endpoints = loadEndpointsConfigOrExit(config);

await connectDatabase(config.MONGO_URI);
const redis = createRedisClient(config.REDIS_URI, 'api');
const temporal = createTemporalClient(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
const server = await buildServer({ config, endpoints, redis, temporal: temporal.client });

/** A shutdown that cannot finish in this long (a dependency hanging) ends the process anyway. */
const SHUTDOWN_DEADLINE_MS = 20_000;

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  server.log.info({ signal }, 'shutting down: ending SSE followers, finishing starts under way');
  setTimeout(() => {
    server.log.error('shutdown did not finish in time; exiting');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  try {
    await server.close();
    await redis.quit();
    await temporal.connection.close();
    await disconnectDatabase();
  } catch (error) {
    server.log.error({ err: error }, 'error while shutting down');
    process.exit(1);
  }
  server.log.info('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

await server.listen({ host: config.HOST, port: config.PORT });
