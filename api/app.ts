import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import { loadBalanceConfig, type BalanceConfig } from '../shared/balance-config.ts';
import type { Config } from '../shared/config.ts';
import type { EndpointsConfig } from '../shared/endpoints-config.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { authenticatePlugin } from './plugins/authenticate.ts';
import { acceptEmptyJsonBodies } from './plugins/empty-json-body.ts';
import { errorHandlerPlugin } from './plugins/error-handler.ts';
import { createAccountLoginLimit, createIpRateLimit, createUserRateLimit } from './plugins/rate-limit.ts';
import { securityPlugin } from './plugins/security.ts';
import { authRoutes } from './routes/auth.ts';
import { balanceRoutes } from './routes/balance.ts';
import { chatRoutes } from './routes/chat.ts';
import { runControlRoutes } from './routes/run-control.ts';
import { titleRoutes } from './routes/titles.ts';
import { clientDefaultsRoutes } from './routes/client-defaults.ts';
import { convoCopyRoutes } from './routes/convo-copies.ts';
import { convoRoutes } from './routes/convos.ts';
import { healthRoutes } from './routes/health.ts';
import { messageRoutes } from './routes/messages.ts';
import { promptCategoryRoutes, promptRoutes } from './routes/prompts.ts';
import { agentRoutes } from './routes/agents.ts';
import { createAgentService } from './services/agent-service.ts';
import { DEMO_AGENT_ID, ensureDemoAgent } from './services/demo-agent.ts';
import { presetRoutes } from './routes/presets.ts';
import { publicShareLimit, shareRoutes } from './routes/share.ts';
import { tagRoutes } from './routes/tags.ts';
import { startupRoutes } from './routes/startup.ts';
import { keyRoutes } from './routes/keys.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { userPluginRoutes } from './routes/user-plugins.ts';
import { agentToolRoutes } from './routes/agent-tools.ts';
import { createMcpDirectoryService } from './services/mcp-directory-service.ts';
import { createUserPluginService } from './services/user-plugin-service.ts';
import { createUserKeyService } from './services/user-key-service.ts';
import { createCredentialCipher } from '../shared/credential-cipher.ts';
import { createAuthService } from './services/auth-service.ts';
import { createConversationCopyService } from './services/conversation-copy-service.ts';
import { createConversationImportService } from './services/conversation-import-service.ts';
import { createConversationService } from './services/conversation-service.ts';
import { createFavoritesService } from './services/favorites-service.ts';
import { createMessageService } from './services/message-service.ts';
import { createPresetService } from './services/preset-service.ts';
import { createPromptService } from './services/prompt-service.ts';
import { createShareService } from './services/share-service.ts';
import { createTagService } from './services/tag-service.ts';
import { createChatService } from './services/chat-service.ts';
import { createRunRegistry } from '../shared/run-registry.ts';
import { createRunSweeper } from './run-sweeper.ts';
import { createFollowerLimits } from './sse/follower-limits.ts';
import { createStreamHub, type StreamHub } from './sse/stream-hub.ts';
import { createTokenService } from './services/token-service.ts';
import { fileRoutes } from './routes/files.ts';
import { createFileService } from './services/file-service.ts';
import { createFileWorkflows } from './services/file-workflows.ts';
import { createFileProgressService } from './services/file-progress-service.ts';
import { fileProgressRoutes } from './routes/file-progress.ts';
import { createAvatarService } from './services/avatar-service.ts';
import { avatarImageRoutes } from './routes/file-avatars.ts';
import { createFileStorages } from '../activities/files/storage/create-file-storage.ts';
import { loadFileEnvironment, s3SettingsFrom, type FileEnvironment } from '../shared/file-config.ts';
import type { SearchEngine } from '../activities/search/search-engine.ts';
import { createSearchEngine } from '../activities/search/create-search-engine.ts';
import { preparedOnFirstUse } from '../activities/search/prepared-engine.ts';
import { describeSearchConfig, loadSearchConfig } from '../shared/search-config.ts';
import { configureSearchChangeCapture, stopSearchChangeCapture } from '../shared/search-changes.ts';
import { createSearchIndexerWaker } from '../shared/search-indexer-client.ts';
import { createSearchService } from './services/search-service.ts';
import { searchRoutes } from './routes/search.ts';

export interface AppDependencies {
  config: Config;
  endpoints: EndpointsConfig;
  /** Commands (rate limits, stream writes). */
  redis: Redis;
  /** Starts and cancels chat workflows; its connection is lazy, so the API starts without Temporal. */
  temporal: Client;
  /** librechat.yaml `balance:`; read from CONFIG_PATH when not given. */
  balance?: BalanceConfig;
  /** Storage and upload-limiter settings (shared/file-config.ts); read from process.env when not given. */
  fileEnvironment?: FileEnvironment;
  /** The search engine (issue 12); `null` for none; built from process.env (shared/search-config.ts) when not given. */
  searchEngine?: SearchEngine | null;
}

/** The whole HTTP API as one plugin; api/server.ts owns the clients and the listening socket. */
export async function app(instance: FastifyInstance, dependencies: AppDependencies) {
  const { config, endpoints, redis } = dependencies;
  const keys = createRedisKeys(config.REDIS_KEY_PREFIX);
  const balance = dependencies.balance ?? loadBalanceConfig(config);

  await instance.register(errorHandlerPlugin);
  // LibreChat's client sends body-less POST/PATCH requests as empty JSON: accepted everywhere, as Express does.
  acceptEmptyJsonBodies(instance);
  await instance.register(securityPlugin, { config });
  await instance.register(authenticatePlugin, { config });

  const auth = createAuthService({ config, tokens: createTokenService(config), log: instance.log });
  const conversations = createConversationService();
  const messages = createMessageService({ conversations });
  const searchEngine = dependencies.searchEngine === undefined ? ownSearchEngine(instance) : (dependencies.searchEngine ?? undefined);
  const search = createSearchService({ engine: searchEngine, log: instance.log });
  // Writes are captured for the index only where an engine is configured (shared/search-changes.ts).
  if (searchEngine) {
    const capture = { wakeUp: createSearchIndexerWaker(dependencies.temporal, config.TASK_QUEUES.search), log: (message: string, error?: unknown) => instance.log.warn({ err: error }, message) };
    configureSearchChangeCapture(capture);
    instance.addHook('onClose', async () => stopSearchChangeCapture(capture));
  }
  const userKeys = createUserKeyService({ cipher: createCredentialCipher(config.CREDS_KEY), baseUrlPolicy: { allowPrivateBaseURL: config.USER_BASE_URL_ALLOW_PRIVATE } });

  const loginLimit = createIpRateLimit(redis, keys, {
    name: 'login',
    max: config.LOGIN_MAX,
    windowMinutes: config.LOGIN_WINDOW,
    message: `Too many login attempts, please try again after ${config.LOGIN_WINDOW} minutes.`,
  });
  const accountLoginLimit = createAccountLoginLimit(redis, keys, {
    name: 'login-account',
    max: config.LOGIN_ACCOUNT_MAX,
    windowMinutes: config.LOGIN_ACCOUNT_WINDOW,
    message: `Too many failed login attempts for this account, please try again after ${config.LOGIN_ACCOUNT_WINDOW} minutes.`,
  });
  const registerLimit = createIpRateLimit(redis, keys, {
    name: 'register',
    max: config.REGISTER_MAX,
    windowMinutes: config.REGISTER_WINDOW,
    message: `Too many accounts created, please try again after ${config.REGISTER_WINDOW} minutes.`,
  });

  await instance.register(healthRoutes, { config, redis, temporal: dependencies.temporal, keys });
  await instance.register(startupRoutes, { config, endpoints, balance });
  await instance.register(balanceRoutes, { balance });
  await instance.register(authRoutes, { prefix: '/api/auth', config, auth, loginLimit, accountLoginLimit, registerLimit });
  await instance.register(convoRoutes, { prefix: '/api/convos', conversations, search });
  await instance.register(searchRoutes, { search, temporal: dependencies.temporal, searchTaskQueue: config.TASK_QUEUES.search });
  await instance.register(convoCopyRoutes, {
    prefix: '/api/convos',
    copies: createConversationCopyService({ conversations }),
    imports: createConversationImportService({ endpoints }),
    importMaxFileSize: config.CONVERSATION_IMPORT_MAX_FILE_SIZE_BYTES,
    forkLimit: createIpRateLimit(redis, keys, {
      name: 'fork',
      max: config.FORK_IP_MAX,
      windowMinutes: config.FORK_IP_WINDOW,
      message: `Too many conversation fork requests, please try again after ${config.FORK_IP_WINDOW} minute(s).`,
    }),
    importLimit: createIpRateLimit(redis, keys, {
      name: 'import',
      max: config.IMPORT_IP_MAX,
      windowMinutes: config.IMPORT_IP_WINDOW,
      message: `Too many conversation import requests, please try again after ${config.IMPORT_IP_WINDOW} minutes.`,
    }),
  });
  await instance.register(messageRoutes, { prefix: '/api/messages', messages, search });
  await instance.register(promptRoutes, { prefix: '/api/prompts', prompts: createPromptService() });
  await instance.register(promptCategoryRoutes);
  // Deleting an agent removes its avatar object (`avatars` is made with the file routes below).
  const agents = createAgentService({ endpoints, onRemoved: (agent) => avatars.removeAgentAvatar(agent.id, agent.avatar) });
  if (config.DEMO_AGENT) {
    // Best effort: an API that cannot reach the database at start still starts (and says why).
    instance.addHook('onReady', async () => {
      try {
        const result = await ensureDemoAgent(endpoints);
        if (result === 'created') instance.log.info({ agentId: DEMO_AGENT_ID }, 'demo agent created');
      } catch (error) {
        instance.log.warn({ err: error }, 'could not create the demo agent');
      }
    });
  }
  await instance.register(agentRoutes, { prefix: '/api/agents', agents });
  await instance.register(tagRoutes, { prefix: '/api/tags', tags: createTagService({ conversations }) });
  await instance.register(presetRoutes, { prefix: '/api/presets', presets: createPresetService() });
  await instance.register(shareRoutes, {
    prefix: '/api/share',
    config,
    endpoints,
    shares: createShareService({ conversations }),
    publicLimit: createIpRateLimit(redis, keys, publicShareLimit),
  });
  await instance.register(clientDefaultsRoutes, { endpoints, favorites: createFavoritesService() });
  await instance.register(keyRoutes, { prefix: '/api/keys', userKeys });
  // Files: every strategy in use is checked at start (an S3 strategy without a bucket fails here, not on an upload).
  const fileEnvironment = dependencies.fileEnvironment ?? loadFileEnvironment(process.env);
  if (endpoints.files.strategies.includes('s3')) s3SettingsFrom(fileEnvironment);
  const fileStorages = createFileStorages({ dataDir: config.DATA_DIR, environment: fileEnvironment });
  const fileProgress = createFileProgressService({ redis, keys, endedTtlSeconds: config.CHAT_STREAM_TTL_SECONDS });
  const avatars = createAvatarService({ files: endpoints.files, storages: fileStorages, agents });
  await instance.register(avatarImageRoutes, { avatars });
  const fileService = createFileService({ files: endpoints.files, storages: fileStorages, workflows: createFileWorkflows({ temporal: dependencies.temporal, taskQueue: config.TASK_QUEUES.files, log: instance.log, progress: fileProgress }) });
  await instance.register(fileRoutes, {
    prefix: '/api/files',
    config: endpoints.files,
    files: fileService,
    avatars,
    uploadLimits: [
      createIpRateLimit(redis, keys, { name: 'file-upload-ip', max: fileEnvironment.FILE_UPLOAD_IP_MAX, windowMinutes: fileEnvironment.FILE_UPLOAD_IP_WINDOW, message: `Too many file upload requests from this IP, please try again after ${fileEnvironment.FILE_UPLOAD_IP_WINDOW} minutes.` }),
      createUserRateLimit(redis, keys, { name: 'file-upload-user', max: fileEnvironment.FILE_UPLOAD_USER_MAX, windowMinutes: fileEnvironment.FILE_UPLOAD_USER_WINDOW, message: `Too many file upload requests, please try again after ${fileEnvironment.FILE_UPLOAD_USER_WINDOW} minutes.` }),
    ],
  });
  // MCP: read from the Redis directory the workers publish; the API itself opens no MCP connection.
  const userPlugins = createUserPluginService({ cipher: createCredentialCipher(config.CREDS_KEY), servers: endpoints.mcpServers, redis, keys });
  const mcpDirectory = createMcpDirectoryService({ redis, keys, servers: endpoints.mcpServers, userPlugins });
  await instance.register(mcpRoutes, { prefix: '/api/mcp', directory: mcpDirectory });
  await instance.register(userPluginRoutes, { userPlugins });
  await instance.register(agentToolRoutes, { prefix: '/api/agents/tools', directory: mcpDirectory });
  // Runs: the registry, the service that starts and stops them, the hub that streams them to every SSE
  // follower of this process over a few Redis connections, and the sweeper that closes runs whose
  // workflow ended without closing them.
  const runs = createRunRegistry(redis, keys, { ttlSeconds: config.CHAT_STREAM_TTL_SECONDS });
  const chat = createChatService({ ...dependencies, keys, runs, conversations, userKeys, balance, log: instance.log });
  const hub = createStreamHub({
    redis,
    // Named after the key prefix, so an operator (or a test) can tell this deployment's readers apart.
    createReader: () => redis.duplicate({ enableAutoPipelining: false, connectionName: `durachat-sse-reader-${config.REDIS_KEY_PREFIX.replace(/[^A-Za-z0-9_-]/g, '')}` }),
    readers: config.SSE_READER_CONNECTIONS,
    log: instance.log,
  });
  const followerLimits = createFollowerLimits(config.SSE_MAX_STREAMS_PER_USER);
  instance.decorate('streamHub', hub);
  // A file's ingestion progress: the same hub and per-user stream limit as replies.
  await instance.register(fileProgressRoutes, { prefix: '/api/files', files: fileService, progress: fileProgress, hub, followerLimits, maxStreamsPerUser: config.SSE_MAX_STREAMS_PER_USER });
  const sweeper = createRunSweeper({ redis, keys, runs, temporal: dependencies.temporal, streamTtlSeconds: config.CHAT_STREAM_TTL_SECONDS, balance, log: instance.log });
  instance.addHook('onReady', async () => sweeper.start());
  // Shutdown: followers get a clean end first (clients reconnect elsewhere with Last-Event-ID), then
  // requests that are starting a run finish, so no slot is left reserved for a run that never started.
  instance.addHook('preClose', async () => {
    await sweeper.stop();
    await hub.close();
  });
  instance.addHook('onClose', async () => chat.drain());
  await instance.register(chatRoutes, { prefix: '/api', ...dependencies, keys, conversations, runs, chat, hub, followerLimits, agents });
  await instance.register(runControlRoutes, { prefix: '/api', redis, keys, runs, chat, conversations });
  await instance.register(titleRoutes, { prefix: '/api', redis, keys, conversations });
}

/** The engine the environment configures (none when search is off), closed with the server. */
function ownSearchEngine(instance: FastifyInstance): SearchEngine | undefined {
  const searchConfig = loadSearchConfig(process.env);
  instance.log.info(`search: ${describeSearchConfig(searchConfig)}`);
  const engine = createSearchEngine(searchConfig);
  if (!engine) return undefined;
  instance.addHook('onClose', async () => engine.close());
  // Tables made on the first query if no worker made them yet (idempotent; retried after a failure).
  return preparedOnFirstUse(engine);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's SSE stream hub; its stats() say how many followers and reader connections are open. */
    streamHub: StreamHub;
  }
}
