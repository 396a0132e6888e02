/**
 * durachat's own small MCP server: a few harmless tools for the demo, and (only with DURACHAT_MCP_FAULTS=1)
 * tools that misbehave on purpose, so tests and the demo can watch a crashed, hung or failing tool server
 * be retried by the workflow.
 *
 *   node --import tsx workers/mcp-servers/durachat-tools.ts              # stdio (what librechat.yaml starts)
 *   node --import tsx workers/mcp-servers/durachat-tools.ts --http 0     # streamable HTTP on /mcp; prints {"port":N}
 *
 * DURACHAT_MCP_CALL_LOG=<file>: every fault tool call (and slow_count's start, end and cancellation) is
 * appended there as one JSON line with the call's idempotency key, so a test can count how often a call ran.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** Where a client puts the idempotency key of a call (activities/tools/mcp/mcp-connection.ts sends it). */
export const IDEMPOTENCY_META_KEY = 'durachat/idempotencyKey';

const faults = process.env.DURACHAT_MCP_FAULTS === '1';
const callLog = process.env.DURACHAT_MCP_CALL_LOG;

type Meta = Record<string, unknown> | undefined;
const idempotencyKeyOf = (meta: Meta) => (typeof meta?.[IDEMPOTENCY_META_KEY] === 'string' ? (meta[IDEMPOTENCY_META_KEY] as string) : undefined);

function record(entry: Record<string, unknown>) {
  if (callLog) appendFileSync(callLog, `${JSON.stringify({ ...entry, pid: process.pid, at: new Date().toISOString() })}\n`);
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function createToolServer(): McpServer {
  const server = new McpServer({ name: 'durachat-tools', version: '1.0.0' });

  server.registerTool(
    'echo',
    { description: 'Returns the message it is given, unchanged.', inputSchema: { message: z.string().describe('The text to send back') } },
    async ({ message }) => text(message),
  );

  server.registerTool(
    'word_count',
    { description: 'Counts the words, lines and characters of a text.', inputSchema: { text: z.string().describe('The text to count') } },
    async ({ text: input }) => {
      const words = input.trim() === '' ? 0 : input.trim().split(/\s+/).length;
      return text(JSON.stringify({ words, lines: input === '' ? 0 : input.split('\n').length, characters: [...input].length }));
    },
  );

  server.registerTool(
    'slow_count',
    {
      description: 'Counts to `steps` over `seconds`, reporting progress after each step. Stops when cancelled.',
      inputSchema: {
        seconds: z.number().min(0).max(600).default(5).describe('How long the whole count takes'),
        steps: z.number().int().min(1).max(1000).default(5).describe('How many steps (progress reports)'),
      },
    },
    async ({ seconds, steps }, extra) => {
      const idempotencyKey = idempotencyKeyOf(extra._meta);
      const progressToken = extra._meta?.progressToken;
      record({ tool: 'slow_count', event: 'started', idempotencyKey });
      try {
        for (let step = 1; step <= steps; step += 1) {
          await sleep((seconds * 1000) / steps, extra.signal);
          if (progressToken !== undefined) {
            await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: step, total: steps, message: `step ${step} of ${steps}` } });
          }
        }
      } catch (error) {
        if (extra.signal.aborted) record({ tool: 'slow_count', event: 'cancelled', idempotencyKey, reason: String(extra.signal.reason) });
        throw error;
      }
      record({ tool: 'slow_count', event: 'finished', idempotencyKey });
      return text(`Counted to ${steps} in ${seconds} seconds.`);
    },
  );

  if (!faults) return server;

  server.registerTool('crash', { description: 'Fault: the server process exits in the middle of the call.', inputSchema: {} }, async (_args, extra) => {
    record({ tool: 'crash', idempotencyKey: idempotencyKeyOf(extra._meta) });
    setTimeout(() => process.exit(17), 20);
    return new Promise(() => {});
  });

  server.registerTool('hang', { description: 'Fault: never answers.', inputSchema: {} }, async (_args, extra) => {
    record({ tool: 'hang', idempotencyKey: idempotencyKeyOf(extra._meta) });
    extra.signal.addEventListener('abort', () => record({ tool: 'hang', event: 'cancelled', idempotencyKey: idempotencyKeyOf(extra._meta) }));
    return new Promise(() => {});
  });

  server.registerTool(
    'counter',
    { description: 'Fault helper: records the call and its idempotency key in the call log.', inputSchema: { key: z.string().describe('Any label for the call') } },
    async ({ key }, extra) => {
      record({ tool: 'counter', key, idempotencyKey: idempotencyKeyOf(extra._meta) });
      return text(`counted ${key}`);
    },
  );

  server.registerTool('fail', { description: 'Fault: answers with a tool error (isError).', inputSchema: {} }, async (_args, extra) => {
    record({ tool: 'fail', idempotencyKey: idempotencyKeyOf(extra._meta) });
    return { ...text('This tool always fails.'), isError: true };
  });

  return server;
}

/** Streamable HTTP on `/mcp`, one server and transport per session (an McpServer serves one transport). */
async function serveHttp(port: number) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    if (!request.url?.startsWith('/mcp')) {
      response.writeHead(404).end();
      return;
    }
    const sessionId = request.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(request, response);
    if (sessionId) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createToolServer().connect(transport);
    await transport.handleRequest(request, response);
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port })}\n`);
}

const httpFlag = process.argv.indexOf('--http');
if (httpFlag >= 0) {
  await serveHttp(Number(process.argv[httpFlag + 1] ?? 0));
} else {
  await createToolServer().connect(new StdioServerTransport());
}
