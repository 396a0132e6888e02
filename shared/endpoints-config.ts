import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Config } from './config.ts';

const modelsSchema = z.object({ default: z.array(z.string().min(1)).min(1) });

const customEndpointSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only'),
  apiKey: z.string().min(1),
  baseURL: z.url(),
  models: modelsSchema,
  titleConvo: z.boolean().default(true),
  titleModel: z.string().optional(),
  modelDisplayLabel: z.string().optional(),
  iconURL: z.string().optional(),
  maxContextTokens: z.number().int().positive().optional(),
  streamIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
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
      /** Enabled by GOOGLE_API_KEY (GOOGLE_BASE_URL for a proxy or compatible server). */
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
      custom: z.array(customEndpointSchema).default([]),
    })
    .default({ custom: [] }),
});

/** One endpoint as the API, the workflow and the activities see it. */
export interface ResolvedEndpoint {
  name: string;
  type: 'openAI' | 'anthropic' | 'google' | 'custom';
  baseURL?: string;
  apiKey: string;
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

export function loadEndpointsConfig(config: Config): EndpointsConfig {
  let text: string;
  try {
    text = readFileSync(config.CONFIG_PATH, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  CONFIG_PATH: cannot read ${config.CONFIG_PATH} (${(error as Error).message})`);
  }
  const environment = { ...process.env, DEMO_PROVIDER_URL: config.DEMO_PROVIDER_URL };
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
      apiKey: config.OPENAI_API_KEY,
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
      apiKey: config.ANTHROPIC_API_KEY,
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
  if (google && config.GOOGLE_API_KEY) {
    endpoints.push({
      name: 'google',
      type: 'google',
      baseURL: config.GOOGLE_BASE_URL,
      apiKey: config.GOOGLE_API_KEY,
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
  for (const custom of parsed.data.endpoints.custom) {
    endpoints.push({
      name: custom.name,
      type: 'custom',
      baseURL: custom.baseURL,
      apiKey: custom.apiKey,
      models: custom.models.default,
      titleConvo: custom.titleConvo,
      titleModel: custom.titleModel,
      modelDisplayLabel: custom.modelDisplayLabel,
      iconURL: custom.iconURL,
      maxContextTokens: custom.maxContextTokens ?? DEFAULT_CONTEXT_TOKENS,
      streamIdleTimeoutMs: custom.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
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
