import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const positiveInt = z.coerce.number().int().positive();

/** One schema for the whole environment; `.env.example` documents every key with the same defaults. */
export const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3080),
  DATA_DIR: z.string().min(1).default('.data'),
  CONFIG_PATH: z.string().min(1).default('librechat.yaml'),
  APP_TITLE: z.string().min(1).default('durachat'),

  MONGO_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI').default('mongodb://127.0.0.1:27017/durachat'),
  REDIS_URI: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URI').default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('durachat:'),
  TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** The interactive queue (chat replies); every other kind of run has its own queue, named after it. */
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('durachat-chat'),
  TEMPORAL_BACKGROUND_TASK_QUEUE: z.string().min(1).optional(),
  /** Agent runs (model steps and tool calls): their own queue, so an hour-long tool never holds a chat reply's worker slots. */
  TEMPORAL_AGENT_TASK_QUEUE: z.string().min(1).optional(),
  /** File ingestion and deletion: their own queue, so a 100-page PDF never delays a reply. */
  TEMPORAL_FILES_TASK_QUEUE: z.string().min(1).optional(),
  /** Search indexing (issue 12): its own queue, so indexing never takes a reply's worker slots. */
  TEMPORAL_SEARCH_TASK_QUEUE: z.string().min(1).optional(),
  /** Which kinds of run this worker process serves (a task queue each): any of chat, agent, background, files, search. */
  WORKER_QUEUES: z
    .string()
    .default('chat,agent,background,files,search')
    .transform((value) => value.split(',').map((kind) => kind.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['chat', 'agent', 'background', 'files', 'search'])).min(1, 'must name at least one of chat, agent, background, files, search')),
  /** On SIGTERM a worker stops polling and lets running activities finish this long; the rest hand over to another worker. */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),

  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_REFRESH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** LibreChat's name: the AES-256 key (64 hex characters) that encrypts user-provided endpoint keys at rest. */
  CREDS_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (32 bytes)').optional(),
  /** A user's own base URL (`baseURL: user_provided`) may point at private or local addresses (a LAN model server). Off: the workers are inside the deployment's network. */
  USER_BASE_URL_ALLOW_PRIVATE: booleanFromEnv.default(false),
  /** Threads of the worker's CPU pool (token counting). Each loads the o200k tokenizer tables: ~120 MiB of RSS per thread. */
  TOKENIZER_THREADS: positiveInt.max(16).default(1),
  /** A workflow bundle built ahead (`npm run build:workflows`); unset, the worker bundles at start (slower, ~80 MiB more peak RSS). */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  SESSION_EXPIRY: positiveInt.default(15 * 60 * 1000),
  REFRESH_TOKEN_EXPIRY: positiveInt.default(7 * 24 * 60 * 60 * 1000),
  ALLOW_REGISTRATION: booleanFromEnv.default(true),
  ALLOW_EMAIL_LOGIN: booleanFromEnv.default(true),
  LOGIN_MAX: positiveInt.default(7),
  LOGIN_WINDOW: positiveInt.default(5),
  REGISTER_MAX: positiveInt.default(5),
  REGISTER_WINDOW: positiveInt.default(60),
  LOGIN_ACCOUNT_MAX: positiveInt.default(10),
  LOGIN_ACCOUNT_WINDOW: positiveInt.default(15),
  /**
   * Proxies whose X-Forwarded-For is believed (addresses, CIDR ranges or proxy-addr's names); empty: none,
   * so request.ip is the socket address and a client cannot pick its own rate-limit bucket.
   */
  TRUST_PROXY: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((entry) => entry.trim()).filter(Boolean))
    .pipe(
      z.array(
        z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6(), z.enum(['loopback', 'linklocal', 'uniquelocal'])], {
          error: 'must be IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated',
        }),
      ),
    ),
  REFRESH_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  SESSION_ABSOLUTE_EXPIRY: positiveInt.default(30 * 24 * 60 * 60 * 1000),
  CORS_ORIGINS: z.string().default('http://localhost:3080,http://127.0.0.1:3080'),
  BODY_LIMIT: positiveInt.default(1024 * 1024),
  /** LibreChat's name and, as its `.env.example` suggests, a bound on one conversation-import upload. */
  CONVERSATION_IMPORT_MAX_FILE_SIZE_BYTES: positiveInt.default(20 * 1024 * 1024),
  /** LibreChat's FORK_IP_MAX/FORK_IP_WINDOW and IMPORT_IP_MAX/IMPORT_IP_WINDOW (minutes). */
  FORK_IP_MAX: positiveInt.default(30),
  FORK_IP_WINDOW: positiveInt.default(1),
  IMPORT_IP_MAX: positiveInt.default(100),
  IMPORT_IP_WINDOW: positiveInt.default(15),

  CONCURRENT_MESSAGE_MAX: positiveInt.default(2),
  CHAT_STREAM_MAXLEN: positiveInt.default(20000),
  CHAT_STREAM_TTL_SECONDS: positiveInt.default(3600),
  CHAT_STREAM_FLUSH_MS: z.coerce.number().int().min(0).max(1000).default(30),
  /** A stream writer rides out a Redis outage this long (text kept in memory) before its attempt is retried. */
  REDIS_OUTAGE_TOLERANCE_MS: z.coerce.number().int().min(0).max(600_000).default(60_000),
  /** Open SSE streams per user and API process; more answer 429. */
  SSE_MAX_STREAMS_PER_USER: positiveInt.default(20),
  /** Redis connections an API process reads all its SSE streams through (blocking XREAD, multiplexed). */
  SSE_READER_CONNECTIONS: z.coerce.number().int().min(1).max(16).default(2),

  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  /** LibreChat's name for the Gemini API key. */
  GOOGLE_KEY: z.string().min(1).optional(),
  GOOGLE_BASE_URL: z.url().optional(),
  /** LibreChat's names. The region enables the `bedrock` endpoint; without a key pair the SDK's default credential chain signs. */
  BEDROCK_AWS_DEFAULT_REGION: z.string().min(1).optional(),
  BEDROCK_AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  BEDROCK_AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  BEDROCK_AWS_SESSION_TOKEN: z.string().min(1).optional(),
  /** The Bedrock runtime's URL, for a proxy, a VPC endpoint or the local server. */
  BEDROCK_BASE_URL: z.url().optional(),
  /** A shared, read-only "Demo agent" on the demo endpoint (built-in tools, the bundled MCP server), made at start. */
  DEMO_AGENT: booleanFromEnv.default(true),
  DEMO_PROVIDER_PORT: z.coerce.number().int().min(0).max(65535).default(3091),
  DEMO_PROVIDER_URL: z.url().optional(),
});

export type Environment = z.infer<typeof environmentSchema>;
export type Config = Readonly<
  Omit<Environment, 'JWT_SECRET' | 'JWT_REFRESH_SECRET' | 'CREDS_KEY' | 'CORS_ORIGINS' | 'DEMO_PROVIDER_URL' | 'TEMPORAL_BACKGROUND_TASK_QUEUE' | 'TEMPORAL_AGENT_TASK_QUEUE' | 'TEMPORAL_FILES_TASK_QUEUE' | 'TEMPORAL_SEARCH_TASK_QUEUE'> & {
    /** The task queue of each kind of run. */
    TASK_QUEUES: { chat: string; agent: string; background: string; files: string; search: string };
    JWT_SECRET: string;
    JWT_REFRESH_SECRET: string;
    CREDS_KEY: string;
    CORS_ORIGINS: string[];
    DEMO_PROVIDER_URL: string;
  }
>;

export class ConfigError extends Error {}

/**
 * The file's content, writing `create()`'s first if the file does not exist yet. Processes starting
 * together (an API, a worker, a second API) must agree on one value: the content is written to a file of
 * this process's own and then hard-linked into place, which fails if another process got there first, so
 * nobody ever reads a half-written file and the first writer wins.
 */
function readOrCreateOnce(file: string, create: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  mkdirSync(path.dirname(file), { recursive: true });
  const own = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(own, create(), { mode: 0o600 });
  try {
    linkSync(own, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV') {
      // A file system without hard links (some bind mounts): an exclusive create, first writer wins.
      try {
        writeFileSync(file, readFileSync(own), { mode: 0o600, flag: 'wx' });
      } catch (createError) {
        if ((createError as NodeJS.ErrnoException).code !== 'EEXIST') throw createError;
      }
    } else if (code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(own);
  }
  return readFileSync(file, 'utf8');
}

/**
 * Outside production a missing JWT secret is generated once and kept in the data folder, so `npm start`
 * works with no .env and a restarted API still accepts the tokens it issued. Production must set both.
 */
function developmentSecrets(dataDir: string): { JWT_SECRET: string; JWT_REFRESH_SECRET: string } {
  return JSON.parse(readOrCreateOnce(path.join(dataDir, 'jwt-secrets.json'), () => JSON.stringify({ JWT_SECRET: randomBytes(32).toString('hex'), JWT_REFRESH_SECRET: randomBytes(32).toString('hex') })));
}

/**
 * Like the JWT secrets, but in its own file: rotating it makes every stored user key unreadable, so it is
 * never regenerated.
 */
function developmentCredentialsKey(dataDir: string): string {
  return readOrCreateOnce(path.join(dataDir, 'creds-key'), () => randomBytes(32).toString('hex')).trim();
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings in a .env file mean "not set", as dotenv users expect.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const environment = parsed.data;
  let secrets = { JWT_SECRET: environment.JWT_SECRET, JWT_REFRESH_SECRET: environment.JWT_REFRESH_SECRET };
  if (!secrets.JWT_SECRET || !secrets.JWT_REFRESH_SECRET) {
    if (environment.NODE_ENV === 'production') {
      throw new ConfigError('Invalid configuration:\n  JWT_SECRET, JWT_REFRESH_SECRET: required when NODE_ENV=production');
    }
    const generated = developmentSecrets(environment.DATA_DIR);
    secrets = { JWT_SECRET: secrets.JWT_SECRET ?? generated.JWT_SECRET, JWT_REFRESH_SECRET: secrets.JWT_REFRESH_SECRET ?? generated.JWT_REFRESH_SECRET };
  }
  if (!environment.CREDS_KEY && environment.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration:\n  CREDS_KEY: required when NODE_ENV=production (64 hex characters; it encrypts user-provided keys)');
  }
  return Object.freeze({
    ...environment,
    JWT_SECRET: secrets.JWT_SECRET!,
    JWT_REFRESH_SECRET: secrets.JWT_REFRESH_SECRET!,
    CREDS_KEY: environment.CREDS_KEY ?? developmentCredentialsKey(environment.DATA_DIR),
    CORS_ORIGINS: environment.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean),
    DEMO_PROVIDER_URL: environment.DEMO_PROVIDER_URL ?? `http://127.0.0.1:${environment.DEMO_PROVIDER_PORT}/v1`,
    TASK_QUEUES: {
      chat: environment.TEMPORAL_TASK_QUEUE,
      agent: environment.TEMPORAL_AGENT_TASK_QUEUE ?? `${environment.TEMPORAL_TASK_QUEUE}-agent`,
      files: environment.TEMPORAL_FILES_TASK_QUEUE ?? `${environment.TEMPORAL_TASK_QUEUE}-files`,
      search: environment.TEMPORAL_SEARCH_TASK_QUEUE ?? `${environment.TEMPORAL_TASK_QUEUE}-search`,
      background: environment.TEMPORAL_BACKGROUND_TASK_QUEUE ?? `${environment.TEMPORAL_TASK_QUEUE}-background` },
  });
}

/** For process entry points: print a readable message and exit instead of a stack trace. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
