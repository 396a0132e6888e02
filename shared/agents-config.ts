import { z } from 'zod';

/** LibreChat's default `endpoints.agents.capabilities` (what agents may use when the section does not say). */
export const DEFAULT_AGENT_CAPABILITIES = [
  'execute_code',
  'file_search',
  'web_search',
  'artifacts',
  'actions',
  'context',
  'tools',
  'chain',
  'ocr',
] as const;

/** librechat.yaml `endpoints.agents` (LibreChat's keys): how long an agent run may loop and what it may use. */
export const agentsConfigSchema = z
  .object({
    recursionLimit: z.number().int().min(1).max(1000).default(25),
    maxRecursionLimit: z.number().int().min(1).max(1000).default(100),
    capabilities: z.array(z.string().min(1)).default([...DEFAULT_AGENT_CAPABILITIES]),
    disableBuilder: z.boolean().default(false),
  })
  .refine((agents) => agents.recursionLimit <= agents.maxRecursionLimit, { message: 'recursionLimit must not exceed maxRecursionLimit', path: ['recursionLimit'] });

export type AgentsConfig = z.output<typeof agentsConfigSchema>;

export const DEFAULT_AGENTS_CONFIG: AgentsConfig = agentsConfigSchema.parse({});
