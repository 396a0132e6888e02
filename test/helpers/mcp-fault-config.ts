/**
 * What the agent durability tests share: a librechat.yaml whose durachat-tools server has its fault tools on
 * and a call log (workers/mcp-servers/durachat-tools.ts), reading that log, and an agent that has the
 * server's tools.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';
import type { HttpClient } from './http-client.ts';
import { requestSse, type SseEvent } from './sse-client.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface FaultConfig {
  configPath: string;
  callLogPath: string;
  /** Removes the temp dir (config and call log). */
  remove: () => void;
}

/**
 * A copy of the repository's librechat.yaml in a temp dir: durachat-tools with faults and a call log, a 3 s
 * request timeout (so `hang` times out fast) and two attempts 200 ms apart.
 */
export function writeFaultConfig(): FaultConfig {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'durachat-agent-faults-'));
  const callLogPath = path.join(directory, 'mcp-calls.jsonl');
  const document = parse(readFileSync(path.join(root, 'librechat.yaml'), 'utf8'));
  document.mcpServers = {
    'durachat-tools': {
      ...document.mcpServers['durachat-tools'],
      env: { DURACHAT_MCP_FAULTS: '1', DURACHAT_MCP_CALL_LOG: callLogPath },
      timeout: 3000,
      toolRetry: { maximumAttempts: 2, initialIntervalMs: 200 },
    },
  };
  const configPath = path.join(directory, 'librechat.yaml');
  writeFileSync(configPath, stringify(document));
  return { configPath, callLogPath, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

export interface CallLogEntry {
  tool: string;
  event?: string;
  key?: string;
  idempotencyKey?: string;
  pid: number;
  at: string;
}

export function readCallLog(callLogPath: string): CallLogEntry[] {
  if (!existsSync(callLogPath)) return [];
  return readFileSync(callLogPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CallLogEntry);
}

/** Polls `check` every 100 ms until it returns something truthy; fails with `what` after `ms`. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** The call log's entries for one call (its idempotency key is `agent-<responseMessageId>:<callId>`). */
export const entriesOf = (callLogPath: string, idempotencyKey: string) => readCallLog(callLogPath).filter((entry) => entry.idempotencyKey === idempotencyKey);

export async function createToolAgent(http: HttpClient, token: string): Promise<string> {
  const created = await http.post('/api/agents', {
    token,
    body: { name: 'Tool runner', provider: 'demo', model: 'demo-fast', tools: ['sys__all__sys_mcp_durachat-tools', 'calculator'] },
  });
  if (created.status !== 201) throw new Error(`agent not created: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.id as string;
}

export function agentChat(baseUrl: string, token: string, agentId: string, text: string, options: { disconnectWhen?: (event: SseEvent, events: SseEvent[]) => boolean; timeoutMs?: number } = {}) {
  return requestSse(`${baseUrl}/api/agents/chat/agents`, {
    method: 'POST',
    token,
    body: { endpoint: 'agents', agent_id: agentId, text, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
    timeoutMs: options.timeoutMs ?? 90_000,
    disconnectWhen: options.disconnectWhen,
  });
}

export const named = (events: SseEvent[], name: string) => events.filter((event) => event.data?.event === name);

/** The tool step's first call, with the call's idempotency key (what the MCP server receives in `_meta`). */
export function toolCallOf(events: SseEvent[]): { stepId: string; callId: string; idempotencyKey: string } | undefined {
  const created = events.find((event) => event.data?.created === true);
  const step = named(events, 'on_run_step').find((event) => event.data.data.type === 'tool_calls');
  if (!created || !step) return undefined;
  const callId = step.data.data.stepDetails.tool_calls[0].id as string;
  return { stepId: step.data.data.id, callId, idempotencyKey: `agent-${created.data.responseMessageId}:${callId}` };
}
