import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Config } from './config.ts';

/**
 * The `balance:` section of librechat.yaml (LibreChat's keys and defaults) and the per-model rate table
 * (`balance.tokenValues`, durachat's addition: LibreChat keeps its table in code, api/models/tx.js).
 * Read from the same file as the endpoints, in its own module so each concept stays on one screen.
 */
const rateSchema = z.object({ prompt: z.number().nonnegative(), completion: z.number().nonnegative() });

const balanceSchema = z.object({
  enabled: z.boolean().default(false),
  startBalance: z.number().int().nonnegative().default(20_000),
  autoRefillEnabled: z.boolean().default(false),
  refillIntervalValue: z.number().int().positive().default(30),
  refillIntervalUnit: z.enum(['seconds', 'minutes', 'hours', 'days', 'weeks', 'months']).default('days'),
  refillAmount: z.number().int().nonnegative().default(10_000),
  /** By model name: credits charged per token, which is USD per 1M tokens (LibreChat's tokenValues; 1M credits = $1). */
  tokenValues: z.record(z.string(), rateSchema).default({}),
});

export type BalanceConfig = z.infer<typeof balanceSchema>;
export type RefillIntervalUnit = BalanceConfig['refillIntervalUnit'];

/** Defaults for the models durachat's YAML offers (USD per 1M tokens, as LibreChat's tx.js prices them). */
export const DEFAULT_TOKEN_VALUES: Record<string, { prompt: number; completion: number }> = {
  'demo-fast': { prompt: 1, completion: 2 },
  'demo-slow': { prompt: 1, completion: 2 },
  'gpt-4o-mini': { prompt: 0.15, completion: 0.6 },
  'gpt-4o': { prompt: 2.5, completion: 10 },
  'gpt-4.1-mini': { prompt: 0.4, completion: 1.6 },
  'claude-sonnet-4-5': { prompt: 3, completion: 15 },
  'claude-haiku-4-5': { prompt: 1, completion: 5 },
  'claude-opus-4-1': { prompt: 15, completion: 75 },
  'gemini-2.5-flash': { prompt: 0.3, completion: 2.5 },
  'gemini-2.5-pro': { prompt: 1.25, completion: 10 },
};

/** LibreChat's `defaultRate` for a model its table does not know. */
export const DEFAULT_RATE = 6;

/** The multiplier for one token type of a model: configured, then the defaults, then LibreChat's default rate. */
export function tokenRate(balance: Pick<BalanceConfig, 'tokenValues'>, model: string, tokenType: 'prompt' | 'completion'): number {
  return (balance.tokenValues[model] ?? DEFAULT_TOKEN_VALUES[model])?.[tokenType] ?? DEFAULT_RATE;
}

export const DISABLED_BALANCE: BalanceConfig = balanceSchema.parse({});

export function loadBalanceConfig(config: Pick<Config, 'CONFIG_PATH'>): BalanceConfig {
  let document: unknown;
  try {
    document = parse(readFileSync(config.CONFIG_PATH, 'utf8'));
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  CONFIG_PATH: cannot read ${config.CONFIG_PATH} (${(error as Error).message})`);
  }
  const section = (document as { balance?: unknown } | null)?.balance ?? {};
  const parsed = balanceSchema.safeParse(section);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  balance.${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid balance config in ${config.CONFIG_PATH}:\n${lines.join('\n')}`);
  }
  return Object.freeze(parsed.data);
}

/** What `/api/config` reports (LibreChat sends the balance config itself; the rate table stays server-side). */
export function publicBalanceConfig(balance: BalanceConfig) {
  const { tokenValues: _tokenValues, ...rest } = balance;
  return rest;
}
