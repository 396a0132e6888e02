import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolResultSchema, ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerConfig } from '../../../shared/mcp-config.ts';
import { ToolDeadlineError, ToolUnavailableError, type ToolCallContext, type ToolResult } from '../tool-types.ts';
import { toToolResult } from './mcp-content.ts';

export type McpConnectionState = 'connected' | 'connecting' | 'disconnected' | 'error';

/** Where the caller's idempotency key travels in the request's `_meta`, for servers that deduplicate. */
export const IDEMPOTENCY_META_KEY = 'durachat/idempotencyKey';

const RECONNECT_BASE_MS = 1000;
const RECONNECT_CAP_MS = 30_000;
/** A session that lived this long before it closed starts the backoff over; one that dies sooner keeps backing off. */
const STABLE_SESSION_MS = 30_000;
const CLIENT_INFO = { name: 'durachat', version: '1.0.0' };

export interface McpLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface McpConnectionOptions {
  serverName: string;
  /** With the user's values already in place for per-user servers. */
  config: McpServerConfig;
  log: McpLog;
  /** Called on every state change and new tool list. */
  onChange: () => void;
}

function createTransport(config: McpServerConfig): Transport {
  switch (config.type) {
    case 'stdio':
      return new StdioClientTransport({ command: config.command, args: config.args, env: config.env, cwd: config.cwd, stderr: config.stderr });
    case 'streamable-http':
      return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } });
    case 'sse':
      return new SSEClientTransport(new URL(config.url), { requestInit: { headers: config.headers } });
  }
}

/** Rejects with the signal's reason as soon as it aborts; the promise itself is left to settle alone. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * One MCP client session to one server (for one user, when the server is per user). Connecting also lists
 * the tools, so a connected session always has its list cached. When the session ends without being asked
 * to (the server exited, the HTTP session was lost), it reconnects in the background with exponential
 * backoff up to 30 s; a call that finds it down connects at once instead of waiting for the timer.
 */
export class McpConnection {
  state: McpConnectionState = 'disconnected';
  lastUsedAt = Date.now();
  /** Calls in flight: an idle sweep never closes a session in use. */
  inFlight = 0;
  lastError?: string;
  private client?: Client;
  private opening?: Promise<Client>;
  private tools?: Tool[];
  private reconnectAttempts = 0;
  private connectedAt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: McpConnectionOptions) {}

  get serverName() {
    return this.options.serverName;
  }

  get cachedTools(): Tool[] | undefined {
    return this.tools;
  }

  /** The server's instructions from its initialize answer, once connected. */
  get instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  private setState(state: McpConnectionState) {
    if (this.state === state) return;
    this.state = state;
    this.options.onChange();
  }

  /** The live client, connecting first when there is none (joins a connect already under way). */
  connect(signal?: AbortSignal): Promise<Client> {
    this.lastUsedAt = Date.now();
    if (this.closed) return Promise.reject(new ToolUnavailableError(`MCP server '${this.serverName}': connection closed`));
    if (this.client && this.state === 'connected') return Promise.resolve(this.client);
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return signal ? untilAborted(this.opening, signal) : this.opening;
  }

  private async open(): Promise<Client> {
    clearTimeout(this.reconnectTimer);
    this.setState('connecting');
    const { config, serverName } = this.options;
    const client = new Client(CLIENT_INFO, {
      capabilities: {},
      // A changed list is fetched again on next use (and now, for the directory).
      listChanged: { tools: { autoRefresh: false, onChanged: () => this.refreshTools(client) } },
    });
    client.onclose = () => this.closedUnexpectedly(client);
    client.onerror = (error) => this.options.log.warn({ server: serverName, err: error.message }, 'MCP transport error');
    try {
      await client.connect(createTransport(config), { timeout: config.initTimeout });
      this.tools = await this.listAllTools(client);
    } catch (error) {
      await client.close().catch(() => {});
      this.lastError = (error as Error).message;
      this.setState('error');
      this.scheduleReconnect();
      throw new ToolUnavailableError(`MCP server '${serverName}' could not be connected: ${describeError(error)}`);
    }
    if (this.closed) {
      await client.close().catch(() => {});
      throw new ToolUnavailableError(`MCP server '${serverName}': connection closed`);
    }
    this.client = client;
    this.connectedAt = Date.now();
    this.lastError = undefined;
    this.options.log.info({ server: serverName, tools: this.tools.length }, 'MCP server connected');
    this.state = 'connected';
    this.options.onChange();
    return client;
  }

  private async listAllTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.options.config.timeout });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  private refreshTools(client: Client) {
    if (client !== this.client) return;
    this.listAllTools(client).then(
      (tools) => {
        this.tools = tools;
        this.options.onChange();
      },
      (error) => this.options.log.warn({ server: this.serverName, err: (error as Error).message }, 'MCP tool list refresh failed'),
    );
  }

  private closedUnexpectedly(client: Client) {
    if (client !== this.client) return;
    this.client = undefined;
    this.tools = undefined;
    if (Date.now() - this.connectedAt >= STABLE_SESSION_MS) this.reconnectAttempts = 0;
    this.options.log.warn({ server: this.serverName }, 'MCP server connection closed');
    this.setState('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect() {
    if (this.closed) return;
    clearTimeout(this.reconnectTimer);
    const delay = Math.min(RECONNECT_BASE_MS * 2 ** this.reconnectAttempts, RECONNECT_CAP_MS);
    this.reconnectAttempts += 1;
    // Not `connect()`: a background retry is not a use, so a connection nobody uses still goes idle and is closed.
    this.reconnectTimer = setTimeout(() => {
      if (this.closed) return;
      this.opening ??= this.open().finally(() => (this.opening = undefined));
      this.opening.catch(() => {});
    }, delay);
    this.reconnectTimer.unref();
  }

  /** The session is unusable (a send failed): drop it, so the next use or the backoff timer opens a new one. */
  private async drop() {
    const client = this.client;
    if (!client) return;
    // Closing fires onclose, which schedules the reconnect.
    await client.close().catch(() => {});
  }

  /** The tool list, connecting first if needed. */
  async listTools(signal?: AbortSignal): Promise<Tool[]> {
    const client = await this.connect(signal);
    if (this.tools) return this.tools;
    try {
      this.tools = await this.listAllTools(client);
    } catch (error) {
      throw new ToolUnavailableError(`MCP server '${this.serverName}' did not list its tools: ${describeError(error)}`);
    }
    return this.tools;
  }

  async callTool(toolName: string, args: Record<string, unknown>, context: ToolCallContext): Promise<ToolResult> {
    context.signal.throwIfAborted();
    const { timeout: serverTimeout } = this.options.config;
    const timeout = context.timeoutMs ? Math.min(serverTimeout, context.timeoutMs) : serverTimeout;
    // The context's timeout is a hard bound, connecting included: progress resets the per-request timer, not this one.
    const hardLimit = new AbortController();
    const hardTimer = context.timeoutMs
      ? setTimeout(() => hardLimit.abort(new ToolDeadlineError(`MCP tool '${toolName}' on '${this.serverName}' did not finish within ${context.timeoutMs} ms`)), context.timeoutMs)
      : undefined;
    const signal = AbortSignal.any([context.signal, hardLimit.signal]);
    this.inFlight += 1;
    this.lastUsedAt = Date.now();
    try {
      const client = await this.connect(signal);
      const onProgress = context.onProgress;
      const result = await client.callTool(
        { name: toolName, arguments: args, _meta: { [IDEMPOTENCY_META_KEY]: context.idempotencyKey } },
        CallToolResultSchema,
        {
          signal,
          timeout,
          // Progress resets the per-request timer; the hard bound is `hardLimit` (not the SDK's maxTotalTimeout,
          // which is only checked when progress arrives and would report the wrong limit).
          resetTimeoutOnProgress: true,
          // Always asked for, even with no listener: a server that reports progress keeps its call alive.
          onprogress: ({ progress, total, message }) => onProgress?.({ progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) }),
        },
      );
      return toToolResult(result as Parameters<typeof toToolResult>[0]);
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (hardLimit.signal.aborted) throw hardLimit.signal.reason;
      if (error instanceof ToolUnavailableError) throw error;
      if (error instanceof McpError) {
        if (error.code === ErrorCode.RequestTimeout) {
          throw new ToolUnavailableError(`MCP tool '${toolName}' on '${this.serverName}' did not answer within ${timeout} ms`);
        }
        if (error.code === ErrorCode.ConnectionClosed) {
          throw new ToolUnavailableError(`MCP server '${this.serverName}' closed the connection during '${toolName}' (did it exit?)`);
        }
        // The server answered with a protocol error (unknown tool, invalid arguments): the model can read it.
        return { output: `MCP error ${error.code}: ${error.message}`, isError: true };
      }
      // Anything else failed on the way (fetch failed, HTTP session lost): the session is not to be trusted.
      await this.drop();
      throw new ToolUnavailableError(`MCP server '${this.serverName}' could not be reached for '${toolName}': ${describeError(error)}`);
    } finally {
      clearTimeout(hardTimer);
      this.inFlight -= 1;
      this.lastUsedAt = Date.now();
    }
  }

  /** Ends the session for good (idle, reinitialized, shutdown): no reconnect. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.tools = undefined;
    await client?.close().catch(() => {});
    this.setState('disconnected');
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
