import { loadConfigOrExit, ConfigError } from '../shared/config.ts';
import { connectDatabase, disconnectDatabase } from '../shared/database.ts';
import { loadEndpointsConfig } from '../shared/endpoints-config.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { buildServer } from './build-server.ts';

const config = loadConfigOrExit();
let endpoints;
try {
  endpoints = loadEndpointsConfig(config);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

await connectDatabase(config.MONGO_URI);
const redis = createRedisClient(config.REDIS_URI, 'api');
const server = await buildServer({ config, endpoints, redis });

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  server.log.info({ signal }, 'shutting down');
  await server.close();
  await redis.quit();
  await disconnectDatabase();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

await server.listen({ host: config.HOST, port: config.PORT });
