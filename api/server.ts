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

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  server.log.info({ signal }, 'shutting down');
  await server.close();
  await redis.quit();
  await temporal.connection.close();
  await disconnectDatabase();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

await server.listen({ host: config.HOST, port: config.PORT });
