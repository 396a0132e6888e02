import type { ChatRunInput } from './chat-run.ts';

/**
 * An agent run: a chat turn whose model may call tools, step after step, until it answers or reaches
 * its recursion limit (workflows/agent-run.ts). The input is a chat run's plus the agent, frozen at the
 * start of the run (an edit to the agent mid-run does not change a run under way).
 */
export interface AgentForRun {
  /** `agent_<id>`, or `ephemeral` for a chat on a plain endpoint with MCP servers switched on. */
  id: string;
  name: string;
  instructions?: string;
  /** Tool keys as the agent stores them: built-in keys, `<tool>_mcp_<server>`, `sys__all__sys_mcp_<server>`. */
  tools: string[];
  recursionLimit: number;
  /** Files the `file_search` tool searches (the agent's file_search resource, or files attached to the chat); checked by the API. */
  fileIds?: string[];
}

/** How Temporal runs one tool's calls: from the YAML (an MCP server's `timeout`, `toolRetry`), per tool source. */
export interface ToolPolicy {
  /** A single call may take this long (an MCP tool reporting progress may take this long in total). */
  maxDurationMs: number;
  /** Attempts before the call ends with an error the model sees. */
  maximumAttempts: number;
  initialIntervalMs: number;
}

export interface AgentRunInput extends ChatRunInput {
  agent: AgentForRun;
  /** Keyed by MCP server name; `builtin` for the built-in tools; `default` for anything else. */
  toolPolicies: Record<string, ToolPolicy>;
  /** Continue-as-new after this many history events (default in workflows/agent-run.ts); tests set it low. */
  historyEventsBeforeContinue?: number;
}

/** Where an agent loop stands: carried across continue-as-new so a run of hundreds of steps stays one run to the client. */
export interface AgentLoopState {
  /** Model steps taken so far (the next one is `stepNumber + 1`). */
  stepNumber: number;
  /** Tool calls and their results, in the providers' common terms, replayed into each model step's prompt. */
  transcript: TranscriptEntry[];
  /** The request was saved (only the first run of a continued chain saves it). */
  requestSaved: boolean;
}

export type TranscriptEntry =
  | { role: 'assistant'; content: string; toolCalls: Array<{ id: string; name: string; arguments: string; signature?: string }> }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError: boolean };

export const AGENT_RUN_MAX_DURATION_MS = 6 * 60 * 60_000;

/** LibreChat's default and ceiling for `recursion_limit` (endpoints.agents.recursionLimit / maxRecursionLimit). */
export const DEFAULT_RECURSION_LIMIT = 25;

/** A tool's output goes into the workflow history and every later prompt: longer outputs are cut, and say so. */
export const MAX_TOOL_OUTPUT_CHARS = 64_000;

export function agentWorkflowId(responseMessageId: string, continuationOf?: string): string {
  return continuationOf ? `agent-${responseMessageId}-continue-${continuationOf.slice(0, 8)}` : `agent-${responseMessageId}`;
}

/** The tool source a policy is looked up by: the MCP server of `<tool>_mcp_<server>`, else `builtin`. */
export function toolSource(toolName: string): string {
  const at = toolName.lastIndexOf('_mcp_');
  return at >= 0 ? toolName.slice(at + '_mcp_'.length) : 'builtin';
}

/**
 * Ids the run gives its tool calls (not the provider's): the same in every attempt of a model step, so a
 * retried step that streams the call again extends the part the client already has instead of adding a
 * second one; and valid for every provider's id pattern (`[A-Za-z0-9_-]`).
 */
export function toolCallId(responseMessageId: string, stepNumber: number, index: number): string {
  return `call_${responseMessageId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}_${stepNumber}_${index}`;
}

export function modelStepId(responseMessageId: string, stepNumber: number, segment: number): string {
  return stepNumber === 1 && segment === 0 ? `step_${responseMessageId}` : `step_${responseMessageId}_${stepNumber}_${segment}`;
}

export function toolStepId(callId: string): string {
  return `step_${callId}`;
}

/** What a publish needs of its run: the ids (not the user's text or the agent's instructions). */
export type StreamRef = Pick<ChatRunInput, 'streamId' | 'userId' | 'conversationId' | 'responseMessageId' | 'runCreatedAt'>;

export function streamRefOf(input: ChatRunInput): StreamRef {
  return { streamId: input.streamId, userId: input.userId, conversationId: input.conversationId, responseMessageId: input.responseMessageId, runCreatedAt: input.runCreatedAt };
}
