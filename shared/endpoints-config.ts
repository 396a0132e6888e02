import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Config } from './config.ts';

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

const fileSchema = z.object({
  version: z.string().optional(),
  interface: z.record(z.string(), z.unknown()).default({}),
  endpoints: z
    .object({
      openAI: z
        .object({
          models: modelsSchema,
          titleModel: z.string().optional(),
          maxContextTokens: z.number().int().positive().optional(),
          streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
        })
        .optional(),
      /** Enabled by ANTHROPIC_API_KEY (ANTHROPIC_BASE_URL for a compatible server or proxy). */
      anthropic: z
        .object({
          models: modelsSchema,
          titleModel: z.string().optional(),
          maxContextTokens: z.number().int().positive().optional(),
          streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
          /** Extended thinking: the token budget given to it (off when unset). */
          thinkingBudget: z.number().int().min(1024).max(128_000).optional(),
        })
        .optional(),
      /** Enabled by GOOGLE_KEY (GOOGLE_BASE_URL for a proxy or compatible server). */
      google: z
        .object({
          models: modelsSchema,
          titleModel: z.string().optional(),
          maxContextTokens: z.number().int().positive().optional(),
          streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
          /** Thinking budget; thoughts are streamed as reasoning (off when unset). */
          thinkingBudget: z.number().int().min(0).max(32_768).optional(),
        })
        .optional(),
      /**
       * Enabled by BEDROCK_AWS_DEFAULT_REGION, as in LibreChat; signed with BEDROCK_AWS_ACCESS_KEY_ID and
       * BEDROCK_AWS_SECRET_ACCESS_KEY when set, else by the SDK's default credential chain (BEDROCK_BASE_URL
       * for a proxy, a VPC endpoint or the local server). Models are Bedrock model or inference profile ids.
       */
      bedrock: z
        .object({
          models: modelsSchema,
          titleModel: z.string().optional(),
          maxContextTokens: z.number().int().positive().optional(),
          streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
          /** Reasoning for Anthropic models on Bedrock (`additionalModelRequestFields.thinking`); off when unset. */
          thinkingBudget: z.number().int().min(1024).max(128_000).optional(),
        })
        .optional(),
      custom: z.array(customEndpointSchema).default([]),
    })
    .default({ custom: [] }),
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
  const openAI = parsed.data.endpoints.openAI;
  // The OpenAI endpoint is offered only with a key: without one every request would fail.
  if (openAI && config.OPENAI_API_KEY) {
    endpoints.push({
      name: 'openAI',
      type: 'openAI',
      baseURL: config.OPENAI_BASE_URL,
      ...userProvided(config.OPENAI_API_KEY),
      models: openAI.models.default,
      titleConvo: true,
      titleModel: openAI.titleModel,
      maxContextTokens: openAI.maxContextTokens ?? 128000,
      streamIdleTimeoutMs: openAI.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      order: 0,
    });
  }
  const anthropic = parsed.data.endpoints.anthropic;
  if (anthropic && config.ANTHROPIC_API_KEY) {
    endpoints.push({
      name: 'anthropic',
      type: 'anthropic',
      baseURL: config.ANTHROPIC_BASE_URL,
      ...userProvided(config.ANTHROPIC_API_KEY),
      models: anthropic.models.default,
      titleConvo: true,
      titleModel: anthropic.titleModel,
      modelDisplayLabel: 'Claude',
      maxContextTokens: anthropic.maxContextTokens ?? 200_000,
      streamIdleTimeoutMs: anthropic.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      thinkingBudgetTokens: anthropic.thinkingBudget,
      order: endpoints.length,
    });
  }
  const google = parsed.data.endpoints.google;
  if (google && config.GOOGLE_KEY) {
    endpoints.push({
      name: 'google',
      type: 'google',
      baseURL: config.GOOGLE_BASE_URL,
      ...userProvided(config.GOOGLE_KEY),
      models: google.models.default,
      titleConvo: true,
      titleModel: google.titleModel,
      modelDisplayLabel: 'Gemini',
      maxContextTokens: google.maxContextTokens ?? 1_000_000,
      streamIdleTimeoutMs: google.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      thinkingBudgetTokens: google.thinkingBudget,
      order: endpoints.length,
    });
  }
  const bedrock = parsed.data.endpoints.bedrock;
  if (bedrock && config.BEDROCK_AWS_DEFAULT_REGION) {
    const { BEDROCK_AWS_ACCESS_KEY_ID: accessKeyId, BEDROCK_AWS_SECRET_ACCESS_KEY: secretAccessKey } = config;
    // Half a key pair is a mistake, not a request for the default chain: say so at start-up.
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
      throw new ConfigError('Invalid configuration:\n  BEDROCK_AWS_ACCESS_KEY_ID, BEDROCK_AWS_SECRET_ACCESS_KEY: set both, or neither to use the default credential chain');
    }
    endpoints.push({
      name: 'bedrock',
      type: 'bedrock',
      baseURL: config.BEDROCK_BASE_URL,
      // Bedrock requests are SigV4-signed with `aws`; there is no API key.
      apiKey: '',
      aws: {
        region: config.BEDROCK_AWS_DEFAULT_REGION,
        ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(config.BEDROCK_AWS_SESSION_TOKEN ? { sessionToken: config.BEDROCK_AWS_SESSION_TOKEN } : {}) } } : {}),
      },
      models: bedrock.models.default,
      titleConvo: true,
      titleModel: bedrock.titleModel,
      modelDisplayLabel: 'AWS Bedrock',
      maxContextTokens: bedrock.maxContextTokens ?? 200_000,
      streamIdleTimeoutMs: bedrock.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      thinkingBudgetTokens: bedrock.thinkingBudget,
      order: endpoints.length,
    });
  }
  for (const custom of parsed.data.endpoints.custom) {
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
  return { interface: parsed.data.interface, endpoints };
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
