import type { ToolPolicy } from './agent-run.ts';
import type { EndpointsConfig } from './endpoints-config.ts';

/** Built-in tools answer in milliseconds: a short bound, one retry. */
const BUILTIN_POLICY: ToolPolicy = { maxDurationMs: 30_000, maximumAttempts: 2, initialIntervalMs: 500 };
/**
 * An MCP tool may run long (it keeps its per-request `timeout` alive by reporting progress): the hard
 * bound of one call is an hour unless the server's `toolMaxDurationMs` says otherwise; three attempts.
 */
const MCP_DEFAULT_POLICY: ToolPolicy = { maxDurationMs: 60 * 60_000, maximumAttempts: 3, initialIntervalMs: 1000 };

/** Each tool source's policy, from librechat.yaml, frozen into the run's input (the Temporal UI shows it). */
export function toolPoliciesFor(endpoints: EndpointsConfig): Record<string, ToolPolicy> {
  const policies: Record<string, ToolPolicy> = { builtin: BUILTIN_POLICY, default: MCP_DEFAULT_POLICY };
  for (const [name, server] of Object.entries(endpoints.mcpServers)) {
    policies[name] = {
      maxDurationMs: Math.max(server.toolMaxDurationMs ?? MCP_DEFAULT_POLICY.maxDurationMs, server.timeout ?? 0),
      maximumAttempts: server.toolRetry?.maximumAttempts ?? MCP_DEFAULT_POLICY.maximumAttempts,
      initialIntervalMs: server.toolRetry?.initialIntervalMs ?? MCP_DEFAULT_POLICY.initialIntervalMs,
    };
  }
  return policies;
}
