/**
 * The MCP HTTP routes (LibreChat's `/api/mcp`, `/api/user/plugins`, `/api/agents/tools`, `mcpServers` in
 * `/api/config`) against a real MCP pool and directory publisher running in this process, as a worker would,
 * with real MCP servers as child processes. The API reads only Redis; it opens no MCP connection itself.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { startMcpDirectoryPublisher } from '../activities/tools/mcp/mcp-directory-publisher.ts';
import { createMcpPool, type McpPool } from '../activities/tools/mcp/mcp-pool.ts';
import { createUserValuesReader } from '../activities/tools/mcp/user-values.ts';
import { createCredentialCipher } from '../shared/credential-cipher.ts';
import { loadEndpointsConfig } from '../shared/endpoints-config.ts';
import { PluginAuth } from '../shared/models/plugin-auth.ts';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, testRunId, type TestApp } from './helpers/test-app.ts';

const root = path.resolve(import.meta.dirname, '..');
const everything = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const durachatTools = path.join(root, 'workers/mcp-servers/durachat-tools.ts');
const configPath = path.join(process.env.DATA_DIR ?? '.data/test', `mcp-routes-${testRunId}.yaml`);
const quietLog = { info: () => {}, warn: () => {} };

let app: TestApp;
let http: HttpClient;
let pool: McpPool;
let publisher: { stop: () => Promise<void> };
let redis: ReturnType<typeof createRedisClient>;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let bob: Awaited<ReturnType<typeof registerAndLogin>>;

async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const stateOf = async (token: string, serverName: string) => (await http.get(`/api/mcp/connection/status/${serverName}`, { token })).body.connectionStatus as string;

beforeAll(async () => {
  writeFileSync(
    configPath,
    JSON.stringify({
      mcpServers: {
        tools: { command: process.execPath, args: ['--import', 'tsx', durachatTools], cwd: root, iconPath: '/assets/tools.svg', initTimeout: 20_000 },
        personal: {
          command: process.execPath,
          args: [everything, 'stdio'],
          stderr: 'ignore',
          env: { PERSONAL_KEY: '{{API_KEY}}' },
          chatMenu: false,
          customUserVars: { API_KEY: { title: 'API key', description: 'Your key for the personal server' } },
        },
        offline: { command: path.join(root, 'does-not-exist'), initTimeout: 2000 },
      },
    }),
  );
  app = await startTestApp({ CONFIG_PATH: configPath });
  http = createHttpClient(app.baseUrl);
  const servers = loadEndpointsConfig(app.config).mcpServers;
  redis = createRedisClient(app.config.REDIS_URI, 'test-mcp-worker');
  pool = createMcpPool({ servers, userValues: createUserValuesReader(createCredentialCipher(app.config.CREDS_KEY)), log: quietLog });
  publisher = await startMcpDirectoryPublisher({ redis, keys: createRedisKeys(app.config.REDIS_KEY_PREFIX), pool, servers, intervalMs: 1000, workerId: `test-${testRunId}` });
  alice = await registerAndLogin(http, 'alice');
  bob = await registerAndLogin(http, 'bob');
});
afterAll(async () => {
  await publisher?.stop();
  await pool?.close();
  await redis?.quit();
  await app.close();
  await cleanUpTestData(app.config);
});

describe('MCP routes', () => {
  test('GET /api/config lists the servers as LibreChat does', async () => {
    const { body } = await http.get('/api/config');
    assert.deepEqual(body.mcpServers, {
      tools: { startup: true, chatMenu: true, isOAuth: false, customUserVars: {}, iconPath: '/assets/tools.svg' },
      personal: { startup: true, chatMenu: false, isOAuth: false, customUserVars: { API_KEY: { title: 'API key', description: 'Your key for the personal server' } } },
      offline: { startup: true, chatMenu: true, isOAuth: false, customUserVars: {} },
    });
  });

  test('every route needs a login', async () => {
    for (const route of ['/api/mcp/tools', '/api/mcp/connection/status', '/api/mcp/tools/auth-values', '/api/agents/tools']) {
      assert.equal((await http.get(route)).status, 401, route);
    }
    assert.equal((await http.post('/api/mcp/tools/reinitialize')).status, 401);
    assert.equal((await http.post('/api/user/plugins', { body: { pluginKey: 'mcp_personal', action: 'install', auth: {} } })).status, 401);
  });

  test('connection status comes from the workers: connected, a broken server in error, a per-user server disconnected until set', async () => {
    await waitFor(async () => (await stateOf(alice.token, 'tools')) === 'connected');
    await waitFor(async () => (await stateOf(alice.token, 'offline')) === 'error');
    const { status, body } = await http.get('/api/mcp/connection/status', { token: alice.token });
    assert.equal(status, 200);
    assert.deepEqual(body, {
      success: true,
      connectionStatus: {
        tools: { requiresOAuth: false, connectionState: 'connected' },
        personal: { requiresOAuth: false, connectionState: 'disconnected' },
        offline: { requiresOAuth: false, connectionState: 'error' },
      },
    });
    assert.deepEqual((await http.get('/api/mcp/connection/status/tools', { token: alice.token })).body, { success: true, serverName: 'tools', connectionStatus: 'connected', requiresOAuth: false });
    const unknown = await http.get('/api/mcp/connection/status/nope', { token: alice.token });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /MCP server 'nope' not found/);
  });

  test('GET /api/mcp/tools: each server with its tools, auth config and whether the user is set up', async () => {
    await waitFor(async () => (await stateOf(alice.token, 'tools')) === 'connected');
    const { body } = await http.get('/api/mcp/tools', { token: alice.token });
    const tools = body.servers.tools;
    assert.equal(tools.name, 'tools');
    assert.equal(tools.icon, '/assets/tools.svg');
    assert.equal(tools.authenticated, true);
    assert.deepEqual(tools.authConfig, []);
    assert.deepEqual(tools.tools.map((tool: { pluginKey: string }) => tool.pluginKey).sort(), ['echo_mcp_tools', 'slow_count_mcp_tools', 'word_count_mcp_tools']);
    assert.deepEqual(tools.tools.find((tool: { name: string }) => tool.name === 'echo'), { name: 'echo', pluginKey: 'echo_mcp_tools', description: 'Returns the message it is given, unchanged.' });
    assert.equal(body.servers.personal.authenticated, false);
    assert.deepEqual(body.servers.personal.authConfig, [{ authField: 'API_KEY', label: 'API key', description: 'Your key for the personal server' }]);
    assert.deepEqual(body.servers.offline.tools, []);
  });

  test('GET /api/agents/tools: built-in tools and MCP tools as TPlugin, each with its auth check', async () => {
    await waitFor(async () => (await stateOf(alice.token, 'tools')) === 'connected');
    const { status, body } = await http.get('/api/agents/tools', { token: alice.token });
    assert.equal(status, 200);
    const byKey = Object.fromEntries(body.map((plugin: { pluginKey: string }) => [plugin.pluginKey, plugin]));
    assert.equal(byKey.calculator.authenticated, true);
    assert.deepEqual(byKey.echo_mcp_tools, { name: 'echo', pluginKey: 'echo_mcp_tools', description: 'Returns the message it is given, unchanged.', icon: '/assets/tools.svg', authConfig: [], authenticated: true });
    assert.deepEqual((await http.get('/api/agents/tools/echo_mcp_tools/auth', { token: alice.token })).body, { authenticated: true });
    assert.deepEqual((await http.get('/api/agents/tools/calculator/auth', { token: alice.token })).body, { authenticated: true });
    assert.equal((await http.get('/api/agents/tools/ghost_mcp_tools/auth', { token: alice.token })).status, 404);
    assert.equal((await http.get('/api/agents/tools/nothing/auth', { token: alice.token })).status, 404);
  });

  test('POST /:serverName/reinitialize makes the workers reconnect, and answers when they have', async () => {
    await waitFor(async () => (await stateOf(alice.token, 'tools')) === 'connected');
    const seen: string[] = [];
    const stopWatching = pool.onChange(() => seen.push(pool.status().tools!));
    const { status, body } = await http.post('/api/mcp/tools/reinitialize', { token: alice.token });
    stopWatching();
    assert.equal(status, 200);
    assert.deepEqual(body, { success: true, message: "MCP server 'tools' reinitialized", serverName: 'tools', oauthRequired: false, oauthUrl: null });
    assert.ok(seen.includes('connecting') && seen.at(-1) === 'connected', `states seen: ${seen.join(', ')}`);
    // Alice is the first account (ADMIN). Bob is not: a shared server that works is not torn down for him
    // (other users' calls would break); he is told it is connected.
    await waitFor(async () => (await stateOf(bob.token, 'tools')) === 'connected');
    const untouched: string[] = [];
    const stopWatchingBob = pool.onChange(() => untouched.push(pool.status().tools!));
    const byBob = await http.post('/api/mcp/tools/reinitialize', { token: bob.token });
    stopWatchingBob();
    assert.deepEqual(byBob.body, { success: true, message: "MCP server 'tools' is connected", serverName: 'tools', oauthRequired: false, oauthUrl: null });
    assert.ok(!untouched.includes('connecting'), `states seen: ${untouched.join(', ')}`);
    assert.equal((await http.post('/api/mcp/nope/reinitialize', { token: alice.token })).status, 404);
    const broken = await http.post('/api/mcp/offline/reinitialize', { token: alice.token });
    assert.equal(broken.body.success, false);
    assert.match(broken.body.message, /could not be connected/);
  });

  test('customUserVars: stored encrypted per user, reported only as set or not, used by that user\'s connection', async () => {
    assert.deepEqual((await http.get('/api/mcp/personal/auth-values', { token: alice.token })).body, { success: true, serverName: 'personal', authValueFlags: { API_KEY: false } });
    const notSet = await http.post('/api/mcp/personal/reinitialize', { token: alice.token });
    assert.equal(notSet.body.success, false);
    assert.match(notSet.body.message, /needs your values for API_KEY/);

    const secret = `alice-secret-${testRunId}`;
    const saved = await http.post('/api/user/plugins', { token: alice.token, body: { pluginKey: 'mcp_personal', action: 'install', auth: { API_KEY: secret } } });
    assert.equal(saved.status, 200);
    assert.deepEqual((await http.get('/api/mcp/personal/auth-values', { token: alice.token })).body.authValueFlags, { API_KEY: true });
    assert.deepEqual((await http.get('/api/mcp/personal/auth-values', { token: bob.token })).body.authValueFlags, { API_KEY: false });
    const stored = await PluginAuth.find({ userId: alice.user.id ?? alice.user._id }).lean<Array<{ pluginKey: string; authField: string; value: string }>>();
    assert.deepEqual(stored.map((document) => [document.pluginKey, document.authField]), [['mcp_personal', 'API_KEY']]);
    assert.ok(!stored[0]!.value.includes(secret), 'the value is stored encrypted');

    // Saving asks the workers to (re)open Alice's own session with her value; Bob has none.
    await waitFor(async () => (await stateOf(alice.token, 'personal')) === 'connected');
    assert.equal(await stateOf(bob.token, 'personal'), 'disconnected');
    const tools = await http.get('/api/mcp/tools', { token: alice.token });
    assert.equal(tools.body.servers.personal.authenticated, true);
    assert.ok(tools.body.servers.personal.tools.some((tool: { pluginKey: string }) => tool.pluginKey === 'get-env_mcp_personal'));
    const aliceId = String(alice.user.id ?? alice.user._id);
    const getEnv = (await pool.tools(aliceId, ['personal'])).find((tool) => tool.definition.name === 'get-env_mcp_personal')!;
    const environment = JSON.parse((await getEnv.call({}, { userId: aliceId, idempotencyKey: 'routes:1', signal: new AbortController().signal })).output);
    assert.equal(environment.PERSONAL_KEY, secret);
    assert.equal((await http.post('/api/mcp/personal/reinitialize', { token: alice.token })).body.success, true);

    const undeclared = await http.post('/api/user/plugins', { token: alice.token, body: { pluginKey: 'mcp_personal', action: 'install', auth: { OTHER: 'x' } } });
    assert.equal(undeclared.status, 400);
    assert.match(undeclared.body.message, /OTHER is not declared by MCP server 'personal'/);
    assert.equal((await http.post('/api/user/plugins', { token: alice.token, body: { pluginKey: 'mcp_nope', action: 'install', auth: {} } })).status, 404);
    assert.equal((await http.post('/api/user/plugins', { token: alice.token, body: { pluginKey: 'mcp_personal', action: 'remove' } })).status, 400);

    const cleared = await http.post('/api/user/plugins', { token: alice.token, body: { pluginKey: 'mcp_personal', action: 'uninstall', auth: {} } });
    assert.equal(cleared.status, 200);
    assert.deepEqual((await http.get('/api/mcp/personal/auth-values', { token: alice.token })).body.authValueFlags, { API_KEY: false });
    assert.equal(await PluginAuth.countDocuments({ userId: aliceId }), 0);
  });

  test('without any worker listening, reinitialize says the service is unavailable', async () => {
    await publisher.stop();
    const { status, body } = await http.post('/api/mcp/tools/reinitialize', { token: alice.token });
    assert.equal(status, 503);
    assert.match(body.message, /No worker is running/);
    // Its directory entry went with it: the server shows as disconnected, its tools unknown.
    assert.equal(await stateOf(alice.token, 'tools'), 'disconnected');
    assert.deepEqual((await http.get('/api/mcp/tools', { token: alice.token })).body.servers.tools.tools, []);
  });
});
