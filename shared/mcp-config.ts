import { z } from 'zod';

/**
 * librechat.yaml `mcpServers:` (LibreChat's keys), parsed once at start-up. `${ENV}` is already replaced by
 * the YAML loader (shared/endpoints-config.ts); `{{VAR}}` is a value each user supplies (`customUserVars`),
 * put in per user when their connection opens (activities/tools/mcp/user-server-config.ts).
 */

export const MCP_SERVER_NAME = /^[A-Za-z0-9_-]+$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What LibreChat also substitutes per user besides customUserVars. */
export const MCP_USER_ID_VARIABLE = 'LIBRECHAT_USER_ID';

const DEFAULT_TIMEOUT_MS = 60_000;
/**
 * LibreChat waits 120 s for a server to connect; durachat waits 30 s: a connect happens inside a tool call's
 * activity, and a server that needs minutes to start should be given `initTimeout` explicitly.
 */
const DEFAULT_INIT_TIMEOUT_MS = 30_000;

const customUserVarSchema = z.object({ title: z.string().min(1), description: z.string().default('') });

const commonShape = {
  startup: z.boolean().default(true),
  chatMenu: z.boolean().default(true),
  iconPath: z.string().optional(),
  /** `true`: the server's own instructions go to the model; a string: these instead. */
  serverInstructions: z.union([z.boolean(), z.string()]).optional(),
  timeout: z.number().int().min(100).max(3_600_000).default(DEFAULT_TIMEOUT_MS),
  initTimeout: z.number().int().min(100).max(600_000).default(DEFAULT_INIT_TIMEOUT_MS),
  customUserVars: z
    .record(z.string().regex(VARIABLE_NAME, 'variable names are letters, digits and _'), customUserVarSchema)
    .default({}),
  /** durachat's extension: how Temporal retries one of this server's tool calls (the activity's retry policy). */
  toolRetry: z
    .object({
      maximumAttempts: z.number().int().min(1).max(20).default(3),
      initialIntervalMs: z.number().int().min(0).max(600_000).default(1000),
    })
    .optional(),
  /** durachat's extension: one tool call's hard bound in ms, however much progress it reports (default an hour). */
  toolMaxDurationMs: z.number().int().min(1000).max(6 * 3_600_000).optional(),
};

const stdioSchema = z.object({
  ...commonShape,
  type: z.literal('stdio'),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  /** The child's stderr: LibreChat's default is to inherit it (visible in the worker's log). */
  stderr: z.enum(['inherit', 'ignore', 'pipe']).default('inherit'),
});

const httpUrl = z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? 'required' : 'must be an http(s) URL') });
const remoteShape = { ...commonShape, url: httpUrl, headers: z.record(z.string(), z.string()).default({}) };
const streamableHttpSchema = z.object({ ...remoteShape, type: z.literal('streamable-http') });
const sseSchema = z.object({ ...remoteShape, type: z.literal('sse') });

const serverSchema = z.preprocess(
  (value, context) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const server = value as Record<string, unknown>;
    // Said plainly rather than dropped: a server configured for OAuth would otherwise fail at every call.
    if ('oauth' in server || server.requiresOAuth === true) context.addIssue({ code: 'custom', message: 'OAuth MCP servers are not supported', input: value });
    // LibreChat's inference: `command` means stdio; a URL without a type is SSE. `http` is streamable HTTP.
    let type = server.type;
    if (type === undefined) type = 'command' in server ? 'stdio' : 'url' in server ? 'sse' : undefined;
    if (type === 'http') type = 'streamable-http';
    return { ...server, type };
  },
  z.discriminatedUnion('type', [stdioSchema, streamableHttpSchema, sseSchema], {
    error: (issue) =>
      issue.code === 'invalid_union' && (issue as { note?: string }).note === 'No matching discriminator'
        ? 'type must be stdio, streamable-http, http or sse (websocket and OAuth servers are not supported); stdio needs `command`, the others `url`'
        : undefined,
  }),
);

export const mcpServersSchema = z
  .record(z.string().regex(MCP_SERVER_NAME), serverSchema, {
    error: (issue) => (issue.code === 'invalid_key' ? 'server names are letters, digits, - and _ only' : undefined),
  })
  .default({})
  .superRefine((servers, context) => {
    for (const [name, server] of Object.entries(servers)) {
      for (const variable of referencedVariables(server)) {
        if (variable === MCP_USER_ID_VARIABLE || variable in server.customUserVars) continue;
        context.addIssue({ code: 'custom', path: [name], message: `{{${variable}}} is used but not declared in customUserVars` });
      }
    }
  });

export type McpServerConfig = z.output<typeof stdioSchema> | z.output<typeof streamableHttpSchema> | z.output<typeof sseSchema>;
export type McpServersConfig = Record<string, McpServerConfig>;

/** The strings of a server's config that may hold `{{VAR}}`. */
function substitutableStrings(server: McpServerConfig): string[] {
  if (server.type === 'stdio') return [server.command, ...server.args, ...Object.values(server.env)];
  return [server.url, ...Object.values(server.headers)];
}

export function referencedVariables(server: McpServerConfig): Set<string> {
  const found = new Set<string>();
  for (const text of substitutableStrings(server)) {
    for (const match of text.matchAll(/\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g)) found.add(match[1]!);
  }
  return found;
}

/** A server whose connection differs per user: it has customUserVars or names the user. */
export function isPerUserServer(server: McpServerConfig): boolean {
  return Object.keys(server.customUserVars).length > 0 || referencedVariables(server).has(MCP_USER_ID_VARIABLE);
}

/** `mcpServers` in GET /api/config (LibreChat's shape). */
export function publicMcpServers(servers: McpServersConfig) {
  return Object.fromEntries(
    Object.entries(servers).map(([name, server]) => [
      name,
      { startup: server.startup, chatMenu: server.chatMenu, isOAuth: false, customUserVars: server.customUserVars, ...(server.iconPath ? { iconPath: server.iconPath } : {}) },
    ]),
  );
}

/** `<tool>_mcp_<server>` split at its last delimiter, or undefined for a tool key that is not an MCP tool's. */
export function parseMcpToolKey(toolKey: string): { toolName: string; serverName: string } | undefined {
  const at = toolKey.lastIndexOf('_mcp_');
  if (at <= 0) return undefined;
  const serverName = toolKey.slice(at + '_mcp_'.length);
  return MCP_SERVER_NAME.test(serverName) ? { toolName: toolKey.slice(0, at), serverName } : undefined;
}

/** The server of that name, never an inherited property (`constructor`, `__proto__`): names can come from users. */
export function findMcpServer(servers: McpServersConfig, serverName: string): McpServerConfig | undefined {
  return Object.hasOwn(servers, serverName) ? servers[serverName] : undefined;
}
