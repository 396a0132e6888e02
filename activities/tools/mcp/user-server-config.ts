import { MCP_USER_ID_VARIABLE, type McpServerConfig } from '../../../shared/mcp-config.ts';

const PLACEHOLDER = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

/** A user has not stored every value the server declares (POST /api/user/plugins): not retryable, they must set them. */
export class McpUserValuesMissingError extends Error {
  override name = 'McpUserValuesMissingError';
  constructor(
    readonly serverName: string,
    readonly missing: string[],
  ) {
    super(`MCP server '${serverName}' needs your values for ${missing.join(', ')}: set them in the MCP server settings`);
  }
}

/**
 * The server's config with `{{VAR}}` replaced by this user's values, in the url, headers and env only (never
 * in `command` or `args`, which stay the operator's). In the URL values are percent-encoded, so a value
 * cannot change the host or path the operator wrote.
 */
export function withUserValues(serverName: string, server: McpServerConfig, userId: string, values: Record<string, string>): McpServerConfig {
  const all: Record<string, string> = { ...values, [MCP_USER_ID_VARIABLE]: userId };
  const missing = Object.keys(server.customUserVars).filter((name) => !values[name]);
  if (missing.length > 0) throw new McpUserValuesMissingError(serverName, missing);
  const fill = (text: string, encode: (value: string) => string = (value) => value) => text.replace(PLACEHOLDER, (match, name: string) => (name in all ? encode(all[name]!) : match));
  const fillRecord = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fill(value)]));
  if (server.type === 'stdio') return { ...server, env: fillRecord(server.env) };
  // A line break in a header value would be refused by fetch at every call; refused here, once, by name.
  const broken = Object.entries(values).filter(([, value]) => /[\r\n]/.test(value)).map(([name]) => name);
  if (broken.length > 0) throw new McpUserValuesMissingError(serverName, broken);
  return { ...server, url: fill(server.url, encodeURIComponent), headers: fillRecord(server.headers) };
}
