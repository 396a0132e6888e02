import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { loadEndpointsConfig } from './endpoints-config.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durachat-config-'));

test('defaults apply and the result is frozen', () => {
  const config = loadConfig({ DATA_DIR: dataDir });
  assert.equal(config.PORT, 3080);
  assert.equal(config.ALLOW_REGISTRATION, true);
  assert.equal(config.JWT_SECRET.length >= 32, true);
  assert.equal(Object.isFrozen(config), true);
  // The generated development secret is kept, so a restarted process accepts earlier tokens.
  assert.equal(loadConfig({ DATA_DIR: dataDir }).JWT_SECRET, config.JWT_SECRET);
});

test('a bad value is refused with a message naming each variable', () => {
  assert.throws(
    () => loadConfig({ DATA_DIR: dataDir, PORT: 'eighty', ALLOW_REGISTRATION: 'yes', MONGO_URI: 'postgres://x' }),
    (error: Error) => error instanceof ConfigError && /PORT/.test(error.message) && /ALLOW_REGISTRATION/.test(error.message) && /MONGO_URI/.test(error.message),
  );
});

test('production requires explicit JWT secrets', () => {
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production' }), /JWT_SECRET, JWT_REFRESH_SECRET: required/);
});

test('CREDS_KEY: 64 hex characters, generated once outside production, required in production', () => {
  const generated = loadConfig({ DATA_DIR: dataDir }).CREDS_KEY;
  assert.match(generated, /^[0-9a-f]{64}$/);
  // Kept: a new key would make every stored user key unreadable.
  assert.equal(loadConfig({ DATA_DIR: dataDir }).CREDS_KEY, generated);
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, CREDS_KEY: 'f'.repeat(63) }), /CREDS_KEY: must be 64 hex characters/);
  const secrets = { JWT_SECRET: 'j'.repeat(32), JWT_REFRESH_SECRET: 'r'.repeat(32) };
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production', ...secrets }), /CREDS_KEY: required when NODE_ENV=production/);
  assert.equal(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'production', ...secrets, CREDS_KEY: 'a'.repeat(64) }).CREDS_KEY, 'a'.repeat(64));
  // LibreChat's OPENAI_API_KEY=user_provided: the endpoint is offered, with each user's own key.
  const openAI = loadEndpointsConfig(loadConfig({ DATA_DIR: dataDir, OPENAI_API_KEY: 'user_provided' })).endpoints.find((endpoint) => endpoint.name === 'openAI');
  assert.deepEqual([openAI?.userProvide, openAI?.apiKey], [true, '']);
});

test('the API process exits with a readable message, not a stack trace, on bad config', async () => {
  const root = path.resolve(import.meta.dirname, '..');
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: 'not-a-port', DATA_DIR: dataDir },
  });
  await assert.rejects(run, (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /Invalid configuration:\n {2}PORT:/);
    assert.doesNotMatch(error.stderr, /\n\s+at /);
    return true;
  });
});

test('the endpoints file: ${VAR} substitution, the demo endpoint, and readable errors', () => {
  const config = loadConfig({ DATA_DIR: dataDir, DEMO_PROVIDER_PORT: '4999' });
  const endpoints = loadEndpointsConfig(config);
  assert.deepEqual(endpoints.endpoints.map((endpoint) => endpoint.name), ['demo', 'demo-claude', 'demo-bedrock', 'demo-gemini']);
  assert.equal(endpoints.endpoints[0]!.baseURL, 'http://127.0.0.1:4999/v1');
  // The demo server through Anthropic's and Google's SDKs, which add their own paths to the origin.
  assert.deepEqual(endpoints.endpoints.slice(1).map((endpoint) => [endpoint.protocol, endpoint.baseURL]), [['anthropic', 'http://127.0.0.1:4999'], ['bedrock', 'http://127.0.0.1:4999'], ['google', 'http://127.0.0.1:4999']]);
  assert.equal(endpoints.endpoints[0]!.protocol, 'openAI');

  const broken = path.join(dataDir, 'broken.yaml');
  writeFileSync(broken, 'endpoints:\n  custom:\n    - name: "bad name"\n      apiKey: k\n      baseURL: not-a-url\n      models: { default: [] }\n');
  assert.throws(() => loadEndpointsConfig(loadConfig({ DATA_DIR: dataDir, CONFIG_PATH: broken })), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /endpoints\.custom\.0\.name/);
    assert.match(error.message, /endpoints\.custom\.0\.baseURL/);
    return true;
  });
  assert.throws(() => loadEndpointsConfig(loadConfig({ DATA_DIR: dataDir, CONFIG_PATH: path.join(dataDir, 'missing.yaml') })), /CONFIG_PATH: cannot read/);
});

test('each kind of run has its own task queue, and WORKER_QUEUES picks the kinds a worker serves', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durachat-config-'));
  const config = loadConfig({ DATA_DIR: dataDir, TEMPORAL_TASK_QUEUE: 'q-chat' });
  assert.deepEqual(config.TASK_QUEUES, { chat: 'q-chat', agent: 'q-chat-agent', background: 'q-chat-background', files: 'q-chat-files', search: 'q-chat-search' });
  assert.deepEqual(config.WORKER_QUEUES, ['chat', 'agent', 'background', 'files', 'search']);
  assert.deepEqual(loadConfig({ DATA_DIR: dataDir, WORKER_QUEUES: 'background' }).WORKER_QUEUES, ['background']);
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, WORKER_QUEUES: 'chat,indexing' }), /WORKER_QUEUES/);
});

test('processes starting together on a fresh data folder agree on one generated JWT secret and credentials key', async () => {
  const fresh = mkdtempSync(path.join(os.tmpdir(), 'durachat-config-race-'));
  const script = `import { loadConfig } from ${JSON.stringify(path.resolve(import.meta.dirname, 'config.ts'))}; const c = loadConfig({ DATA_DIR: ${JSON.stringify(fresh)} }); console.log(JSON.stringify([c.JWT_SECRET, c.JWT_REFRESH_SECRET, c.CREDS_KEY]));`;
  const run = promisify(execFile);
  const outputs = await Promise.all(Array.from({ length: 6 }, () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 })));
  const values = outputs.map((output) => output.stdout.trim());
  assert.equal(new Set(values).size, 1, values.join('\n'));
  const [jwt, refresh, creds] = JSON.parse(values[0]!) as string[];
  assert.ok(jwt!.length >= 32 && refresh!.length >= 32 && creds!.length === 64);
}, 90_000);
