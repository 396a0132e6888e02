import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { loadEndpointsConfig } from './endpoints-config.ts';
import { isPerUserServer, publicMcpServers } from './mcp-config.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durachat-mcp-config-'));
function load(yaml: string, environment: Record<string, string> = {}) {
  const file = path.join(dataDir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return loadEndpointsConfig(loadConfig({ DATA_DIR: dataDir, CONFIG_PATH: file, ...environment }));
}
const refused = (yaml: string, pattern: RegExp) =>
  assert.throws(() => load(yaml), (error: Error) => error instanceof ConfigError && pattern.test(error.message), pattern.source);

test('mcpServers: transports inferred as LibreChat does, defaults filled, ${ENV} replaced at load', () => {
  // `${VAR}` is read from the process environment (shared/endpoints-config.ts).
  process.env.MCP_TEST_TOKEN = 'from-env';
  const { mcpServers } = load(
    [
      'mcpServers:',
      '  local: { command: node, args: [server.js], env: { TOKEN: "${MCP_TEST_TOKEN}" }, toolRetry: { maximumAttempts: 5 } }',
      '  remote: { type: http, url: "https://mcp.example.com/mcp", headers: { Authorization: "Bearer {{API_KEY}}" }, timeout: 5000,',
      '            customUserVars: { API_KEY: { title: Key } } }',
      '  legacy: { url: "https://mcp.example.com/sse" }',
    ].join('\n'),
  );
  delete process.env.MCP_TEST_TOKEN;
  const local = mcpServers.local!;
  assert.equal(local.type, 'stdio');
  assert.deepEqual(local.type === 'stdio' && [local.command, local.args, local.env], ['node', ['server.js'], { TOKEN: 'from-env' }]);
  assert.deepEqual([local.timeout, local.initTimeout, local.startup, local.chatMenu, local.toolRetry], [60_000, 30_000, true, true, { maximumAttempts: 5, initialIntervalMs: 1000 }]);
  assert.equal(mcpServers.remote!.type, 'streamable-http');
  assert.equal(mcpServers.remote!.timeout, 5000);
  assert.equal(mcpServers.legacy!.type, 'sse');
  assert.deepEqual([isPerUserServer(local), isPerUserServer(mcpServers.remote!)], [false, true]);
  assert.deepEqual(publicMcpServers(mcpServers).remote, { startup: true, chatMenu: true, isOAuth: false, customUserVars: { API_KEY: { title: 'Key', description: '' } } });
});

test('mcpServers: mistakes are refused at start-up, each naming its server and field', () => {
  refused('mcpServers:\n  "bad name": { command: x }\n', /mcpServers\.bad name: server names are letters, digits, - and _ only/);
  refused('mcpServers:\n  ws: { type: websocket, url: "ws://x" }\n', /mcpServers\.ws\.type: type must be stdio, streamable-http, http or sse/);
  refused('mcpServers:\n  remote: { type: sse }\n', /mcpServers\.remote\.url: required/);
  refused('mcpServers:\n  remote: { type: http, url: "ftp://x" }\n', /mcpServers\.remote\.url: must be an http\(s\) URL/);
  refused('mcpServers:\n  remote: { type: http, url: "https://x", headers: { X: "{{NOPE}}" } }\n', /mcpServers\.remote: \{\{NOPE\}\} is used but not declared in customUserVars/);
  refused('mcpServers:\n  secured: { type: http, url: "https://x", oauth: { client_id: a } }\n', /mcpServers\.secured: OAuth MCP servers are not supported/);
  refused('mcpServers:\n  local: { command: x, env: { A: "${MCP_TEST_UNSET}" } }\n', /\$\{MCP_TEST_UNSET\} is used but not set/);
});

test('endpoints.agents: LibreChat defaults, overrides, and a limit above the maximum refused', () => {
  const defaults = load('endpoints: {}\n').agents;
  assert.deepEqual(defaults, { recursionLimit: 25, maxRecursionLimit: 100, capabilities: ['execute_code', 'file_search', 'web_search', 'artifacts', 'actions', 'context', 'tools', 'chain', 'ocr'], disableBuilder: false });
  assert.deepEqual(load('endpoints:\n  agents: { recursionLimit: 10, capabilities: [tools], disableBuilder: true }\n').agents, { recursionLimit: 10, maxRecursionLimit: 100, capabilities: ['tools'], disableBuilder: true });
  refused('endpoints:\n  agents: { recursionLimit: 200 }\n', /endpoints\.agents\.recursionLimit: recursionLimit must not exceed maxRecursionLimit/);
  assert.deepEqual(load('endpoints: {}\n').mcpServers, {});
});
