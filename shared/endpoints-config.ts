import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { agentsConfigSchema, DEFAULT_AGENTS_CONFIG, type AgentsConfig } from './agents-config.ts';
import { ConfigError, type Config } from './config.ts';
import { fileSettingsYamlShape, resolveFilesConfig, type FilesConfig } from './file-config.ts';
import { mcpServersSchema, type McpServersConfig } from './mcp-config.ts';

const modelsSchema = z.object({ default: z.array(z.string().min(1)).min(1) });

const customEndpointSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only'),
  /** `user_provided` (LibreChat's word): each user sets their own key (PUT /api/keys); the same for `baseURL`. */
  apiKey: z.string().min(1),
  baseURL: z.union([z.literal('user_provided'), z.url()]),
  models: modelsSchema,
  titleConvo: z.boolean().default(true),
  titleModel: z.string().optional(),
  modelDisplayLabel: z.string().optional(),
  iconURL: z.string().optional(),
  maxContextTokens: z.number().int().positive().optional(),
  streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
  /**
   * durachat's extension: the wire protocol the server at `baseURL` speaks (LibreChat's custom endpoints are
   * OpenAI-compatible only). Lets the keyless demo show every SDK path, and any Anthropic- or Gemini-
   * compatible server be added like an OpenAI-compatible one.
   */
  provider: z.enum(['openai', 'anthropic', 'google', 'bedrock']).default('openai'),
  /** With `provider: bedrock`: the region the SigV4 signature names (the key pair is `apiKey` for both halves, demo only). */
  region: z.string().min(1).optional(),
  thinkingBudget: z.number().int().min(0).max(128_000).optional(),
});

/**
 * A built-in endpoint's YAML section (openAI, anthropic, google, bedrock): its models and limits; with a
 * `thinking` range, the token budget for the model's reasoning (off when unset).
 */
function builtinEndpointSchema(thinking?: { min: number; max: number }) {
  return z.object({
    models: modelsSchema,
    titleModel: z.string().optional(),
    maxContextTokens: z.number().int().positive().optional(),
    streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
    ...(thinking ? { thinkingBudget: z.number().int().min(thinking.min).max(thinking.max).optional() } : {}),
  });
}

const fileSchema = z.object({
  version: z.string().optional(),
  interface: z.record(z.string(), z.unknown()).default({}),
  endpoints: z
    .object({
      openAI: builtinEndpointSchema().optional(),
      /** Enabled by ANTHROPIC_API_KEY (ANTHROPIC_BASE_URL for a compatible server or proxy). */
      anthropic: builtinEndpointSchema({ min: 1024, max: 128_000 }).optional(),
      /** Enabled by GOOGLE_KEY (GOOGLE_BASE_URL for a proxy or compatible server). */
      google: builtinEndpointSchema({ min: 0, max: 32_768 }).optional(),
      /**
       * Enabled by BEDROCK_AWS_DEFAULT_REGION, as in LibreChat; signed with BEDROCK_AWS_ACCESS_KEY_ID and
       * BEDROCK_AWS_SECRET_ACCESS_KEY when set, else by the SDK's default credential chain (BEDROCK_BASE_URL
       * for a proxy, a VPC endpoint or the local server). Models are Bedrock model or inference profile ids.
       */
      bedrock: builtinEndpointSchema({ min: 1024, max: 128_000 }).optional(),
      custom: z.array(customEndpointSchema).default([]),
      agents: agentsConfigSchema.optional(),
    })
    .default({ custom: [] }),
  mcpServers: mcpServersSchema,
  /** `fileConfig`, `fileStrategy`, `fileStrategies` (shared/file-config.ts). */
  ...fileSettingsYamlShape,
});

/** LibreChat's marker for a credential each user supplies (custom endpoint `apiKey`/`baseURL`, or the provider env keys). */
export const USER_PROVIDED = 'user_provided';

/** One endpoint as the API, the workflow and the activities see it. */
export interface ResolvedEndpoint {
  name: string;
  type: 'openAI' | 'anthropic' | 'google' | 'bedrock' | 'custom';
  baseURL?: string;
  /** Empty when `userProvide`: the activity puts the user's own key in at call time (activities/providers/endpoint-credentials.ts). */
  apiKey: string;
  /** Each user supplies the API key (`apiKey: user_provided`), stored encrypted by /api/keys. */
  userProvide?: boolean;
  /** Each user supplies the base URL too (`baseURL: user_provided`). */
  userProvideURL?: boolean;
  models: string[];
  titleConvo: boolean;
  titleModel?: string;
  modelDisplayLabel?: string;
  iconURL?: string;
  maxContextTokens: number;
  /**
   * A stream that sends no byte for this long is treated as a dropped connection (retried), instead of
   * waiting for the activity's 10-minute bound. Per endpoint: reasoning models may think silently a while.
   */
  streamIdleTimeoutMs: number;
  /** Anthropic extended thinking budget, when enabled. */
  thinkingBudgetTokens?: number;
  /** The SDK that talks to it, when it differs from what `type` implies (custom endpoints of another protocol). */
  protocol?: 'openAI' | 'anthropic' | 'google' | 'bedrock';
  /** Bedrock: the region, and the key pair unless the SDK's default credential chain is to sign. */
  aws?: { region: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
  order: number;
}

export interface EndpointsConfig {
  interface: Record<string, unknown>;
  endpoints: ResolvedEndpoint[];
  /** `mcpServers:` (shared/mcp-config.ts). */
  mcpServers: McpServersConfig;
  /** `endpoints.agents:` with LibreChat's defaults. */
  agents: AgentsConfig;
  /** `fileConfig` limits and the storage strategies (shared/file-config.ts). */
  files: FilesConfig;
}

const DEFAULT_CONTEXT_TOKENS = 8192;
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;

/** `${VAR}` inside string values (not comments) becomes the variable's value. */
function substituteEnvironment(value: unknown, environment: Record<string, string | undefined>): unknown {
  if (Array.isArray(value)) return value.map((item) => substituteEnvironment(item, environment));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, substituteEnvironment(child, environment)]));
  }
  if (typeof value !== 'string') return value;
  return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_match, name: string) => {
    const value = environment[name];
    if (value === undefined) throw new ConfigError(`Invalid endpoints config: \${${name}} is used but not set`);
    return value;
  });
}

function userProvided(apiKey: string): Pick<ResolvedEndpoint, 'apiKey' | 'userProvide'> {
  return apiKey === USER_PROVIDED ? { apiKey: '', userProvide: true } : { apiKey };
}

export function loadEndpointsConfig(config: Config): EndpointsConfig {
  let text: string;
  try {
    text = readFileSync(config.CONFIG_PATH, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  CONFIG_PATH: cannot read ${config.CONFIG_PATH} (${(error as Error).message})`);
  }
  // DEMO_PROVIDER_ORIGIN: the demo server without `/v1`, for SDKs that add their own path (Anthropic, Gemini).
  const environment = { ...process.env, DEMO_PROVIDER_URL: config.DEMO_PROVIDER_URL, DEMO_PROVIDER_ORIGIN: config.DEMO_PROVIDER_URL.replace(/\/v1\/?$/, '') };
  const parsed = fileSchema.safeParse(substituteEnvironment(parse(text), environment));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid endpoints config in ${config.CONFIG_PATH}:\n${lines.join('\n')}`);
  }
  const endpoints: ResolvedEndpoint[] = [];
  const { openAI, anthropic, google, bedrock } = parsed.data.endpoints;
  /** A built-in endpoint from its YAML section, with what differs between them. */
  const builtin = (
    section: z.infer<ReturnType<typeof builtinEndpointSchema>>,
    fields: Pick<ResolvedEndpoint, 'name' | 'type' | 'baseURL' | 'maxContextTokens'> & Partial<ResolvedEndpoint>,
  ): ResolvedEndpoint => ({
    apiKey: '',
    models: section.models.default,
    titleConvo: true,
    titleModel: section.titleModel,
    streamIdleTimeoutMs: section.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    ...(typeof section.thinkingBudget === 'number' && section.thinkingBudget > 0 ? { thinkingBudgetTokens: section.thinkingBudget } : {}),
    ...fields,
    maxContextTokens: section.maxContextTokens ?? fields.maxContextTokens,
    order: endpoints.length,
  });
  // A built-in endpoint is offered only with its key: without one every request would fail.
  if (openAI && config.OPENAI_API_KEY) {
    endpoints.push(builtin(openAI, { name: 'openAI', type: 'openAI', baseURL: config.OPENAI_BASE_URL, maxContextTokens: 128_000, ...userProvided(config.OPENAI_API_KEY) }));
  }
  if (anthropic && config.ANTHROPIC_API_KEY) {
    endpoints.push(builtin(anthropic, { name: 'anthropic', type: 'anthropic', baseURL: config.ANTHROPIC_BASE_URL, maxContextTokens: 200_000, modelDisplayLabel: 'Claude', ...userProvided(config.ANTHROPIC_API_KEY) }));
  }
  if (google && config.GOOGLE_KEY) {
    endpoints.push(builtin(google, { name: 'google', type: 'google', baseURL: config.GOOGLE_BASE_URL, maxContextTokens: 1_000_000, modelDisplayLabel: 'Gemini', ...userProvided(config.GOOGLE_KEY) }));
  }
  if (bedrock && config.BEDROCK_AWS_DEFAULT_REGION) {
    const { BEDROCK_AWS_ACCESS_KEY_ID: accessKeyId, BEDROCK_AWS_SECRET_ACCESS_KEY: secretAccessKey } = config;
    // Half a key pair is a mistake, not a request for the default chain: say so at start-up.
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
      throw new ConfigError('Invalid configuration:\n  BEDROCK_AWS_ACCESS_KEY_ID, BEDROCK_AWS_SECRET_ACCESS_KEY: set both, or neither to use the default credential chain');
    }
    const credentials = accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(config.BEDROCK_AWS_SESSION_TOKEN ? { sessionToken: config.BEDROCK_AWS_SESSION_TOKEN } : {}) } } : {};
    // Bedrock requests are SigV4-signed with `aws`; there is no API key.
    endpoints.push(builtin(bedrock, { name: 'bedrock', type: 'bedrock', baseURL: config.BEDROCK_BASE_URL, maxContextTokens: 200_000, modelDisplayLabel: 'AWS Bedrock', aws: { region: config.BEDROCK_AWS_DEFAULT_REGION, ...credentials } }));
  }
  for (const custom of parsed.data.endpoints.custom) {
    // A user's own base URL is only offered where durachat can refuse redirects (shared/outbound-address.ts,
    // activities/providers/client-cache.ts): the OpenAI and Anthropic SDKs. Google's SDK follows redirects
    // with no way to stop it, and Bedrock's endpoints are AWS's.
    if (custom.baseURL === USER_PROVIDED && (custom.provider === 'google' || custom.provider === 'bedrock')) {
      throw new ConfigError(`Invalid configuration:\n  endpoints.custom ${custom.name}: baseURL: user_provided is supported with provider openai or anthropic, not ${custom.provider}`);
    }
    endpoints.push({
      name: custom.name,
      type: 'custom',
      ...userProvided(custom.apiKey),
      ...(custom.baseURL === USER_PROVIDED ? { userProvideURL: true } : { baseURL: custom.baseURL }),
      models: custom.models.default,
      titleConvo: custom.titleConvo,
      titleModel: custom.titleModel,
      modelDisplayLabel: custom.modelDisplayLabel,
      iconURL: custom.iconURL,
      maxContextTokens: custom.maxContextTokens ?? DEFAULT_CONTEXT_TOKENS,
      streamIdleTimeoutMs: custom.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      protocol: custom.provider === 'openai' ? 'openAI' : custom.provider,
      // A Bedrock-protocol custom endpoint signs with its apiKey as both halves of the key pair: meant for the
      // keyless demo server; a real Bedrock endpoint uses the `bedrock` section and AWS credentials.
      ...(custom.provider === 'bedrock' ? { aws: { region: custom.region ?? 'us-east-1', credentials: { accessKeyId: custom.apiKey, secretAccessKey: custom.apiKey } } } : {}),
      ...(custom.thinkingBudget ? { thinkingBudgetTokens: custom.thinkingBudget } : {}),
      order: endpoints.length,
    });
  }
  return { interface: parsed.data.interface, endpoints, mcpServers: parsed.data.mcpServers, agents: parsed.data.endpoints.agents ?? DEFAULT_AGENTS_CONFIG, files: resolveFilesConfig(parsed.data) };
}

export function findEndpoint(config: EndpointsConfig, name: string): ResolvedEndpoint | undefined {
  return config.endpoints.find((endpoint) => endpoint.name === name);
}

/** For process entry points: a readable message and exit 1 instead of a stack trace. */
export function loadEndpointsConfigOrExit(config: Config): EndpointsConfig {
  try {
    return loadEndpointsConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
