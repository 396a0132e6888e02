import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config.ts';
import type { EndpointsConfig } from '../shared/endpoints-config.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { authenticatePlugin } from './plugins/authenticate.ts';
import { errorHandlerPlugin } from './plugins/error-handler.ts';
import { createIpRateLimit } from './plugins/rate-limit.ts';
import { securityPlugin } from './plugins/security.ts';
import { authRoutes } from './routes/auth.ts';
import { chatRoutes } from './routes/chat.ts';
import { convoRoutes } from './routes/convos.ts';
import { messageRoutes } from './routes/messages.ts';
import { startupRoutes } from './routes/startup.ts';
import { createAuthService } from './services/auth-service.ts';
import { createConversationService } from './services/conversation-service.ts';
import { createMessageService } from './services/message-service.ts';
import { createTokenService } from './services/token-service.ts';

export interface AppDependencies {
  config: Config;
  endpoints: EndpointsConfig;
  /** Commands (rate limits, stream writes). */
  redis: Redis;
  /** Starts and cancels chat workflows; its connection is lazy, so the API starts without Temporal. */
  temporal: Client;
}

/** The whole HTTP API as one plugin; api/server.ts owns the clients and the listening socket. */
export async function app(instance: FastifyInstance, dependencies: AppDependencies) {
  const { config, endpoints, redis } = dependencies;
  const keys = createRedisKeys(config.REDIS_KEY_PREFIX);

  await instance.register(errorHandlerPlugin);
  await instance.register(securityPlugin, { config });
  await instance.register(authenticatePlugin, { config });

  const auth = createAuthService({ config, tokens: createTokenService(config), log: instance.log });
  const conversations = createConversationService();
  const messages = createMessageService({ conversations });

  const loginLimit = createIpRateLimit(redis, keys, {
    name: 'login',
    max: config.LOGIN_MAX,
    windowMinutes: config.LOGIN_WINDOW,
    message: `Too many login attempts, please try again after ${config.LOGIN_WINDOW} minutes.`,
  });
  const registerLimit = createIpRateLimit(redis, keys, {
    name: 'register',
    max: config.REGISTER_MAX,
    windowMinutes: config.REGISTER_WINDOW,
    message: `Too many accounts created, please try again after ${config.REGISTER_WINDOW} minutes.`,
  });

  await instance.register(startupRoutes, { config, endpoints });
  await instance.register(authRoutes, { prefix: '/api/auth', config, auth, loginLimit, registerLimit });
  await instance.register(convoRoutes, { prefix: '/api/convos', conversations });
  await instance.register(messageRoutes, { prefix: '/api/messages', messages });
  await instance.register(chatRoutes, { prefix: '/api', ...dependencies, keys, conversations });
}
