import type { ToolDefinition } from '../providers/provider.ts';

/**
 * The tools an agent run can call, as the worker sees them. Built-in tools (activities/tools/builtin/)
 * and MCP tools (activities/tools/mcp/) answer to the same shape, so the agent loop never asks which kind
 * a tool is. Tool keys are what agents store and the model sees: built-in names (`calculator`), and MCP
 * tools as `<tool>_mcp_<server>` (LibreChat's delimiter).
 */
export const MCP_DELIMITER = '_mcp_';

export interface ToolProgress {
  progress: number;
  total?: number;
  message?: string;
}

export interface ToolCallContext {
  userId: string;
  /** Stable across retries of one call (`<workflowId>:<callId>`): a tool with side effects can deduplicate on it. */
  idempotencyKey: string;
  signal: AbortSignal;
  /** Per-call timeout in ms (from config); the tool must give up (and say so) by then. */
  timeoutMs?: number;
  onProgress?: (progress: ToolProgress) => void;
}

/** What a tool answered. `isError` outputs go back to the model (it can recover); they are not failures of the run. */
export interface ToolResult {
  output: string;
  isError: boolean;
  /** Shown to the client beside the call and saved with the reply (LibreChat's attachment: file_search sources). */
  attachment?: Record<string, unknown>;
}

export interface RunnableTool {
  definition: ToolDefinition;
  call(args: Record<string, unknown>, context: ToolCallContext): Promise<ToolResult>;
}

/** The tool could not be reached or did not answer (server down, crashed, hung past its timeout): retryable. */
export class ToolUnavailableError extends Error {
  override name = 'ToolUnavailableError';
}

/** The call ran past its hard bound (ToolCallContext.timeoutMs): the model is told; not retried (it would run as long again). */
export class ToolDeadlineError extends Error {
  override name = 'ToolDeadlineError';
}
