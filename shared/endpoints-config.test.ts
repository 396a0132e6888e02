import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { loadEndpointsConfig } from './endpoints-config.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durachat-endpoints-'));
const configPath = path.join(dataDir, 'bedrock.yaml');
writeFileSync(configPath, 'endpoints:\n  bedrock:\n    models:\n      default: [us.anthropic.claude-haiku-4-5-20251001-v1:0]\n    thinkingBudget: 2048\n');
const bedrockOf = (environment: Record<string, string>) => loadEndpointsConfig(loadConfig({ DATA_DIR: dataDir, CONFIG_PATH: configPath, ...environment })).endpoints.find((endpoint) => endpoint.type === 'bedrock');

test('bedrock: off without a region; the region alone signs with the default credential chain; a key pair when set', () => {
  assert.equal(bedrockOf({}), undefined);
  const chain = bedrockOf({ BEDROCK_AWS_DEFAULT_REGION: 'eu-west-1' })!;
  assert.deepEqual(chain.aws, { region: 'eu-west-1' });
  assert.deepEqual([chain.name, chain.models, chain.thinkingBudgetTokens, chain.apiKey], ['bedrock', ['us.anthropic.claude-haiku-4-5-20251001-v1:0'], 2048, '']);
  const keyed = bedrockOf({ BEDROCK_AWS_DEFAULT_REGION: 'us-east-1', BEDROCK_AWS_ACCESS_KEY_ID: 'AKIA1', BEDROCK_AWS_SECRET_ACCESS_KEY: 's', BEDROCK_AWS_SESSION_TOKEN: 't', BEDROCK_BASE_URL: 'http://127.0.0.1:4999' })!;
  assert.deepEqual(keyed.aws, { region: 'us-east-1', credentials: { accessKeyId: 'AKIA1', secretAccessKey: 's', sessionToken: 't' } });
  assert.equal(keyed.baseURL, 'http://127.0.0.1:4999');
});

test('bedrock: half a key pair is refused at start-up, naming both variables', () => {
  assert.throws(
    () => bedrockOf({ BEDROCK_AWS_DEFAULT_REGION: 'us-east-1', BEDROCK_AWS_ACCESS_KEY_ID: 'AKIA1' }),
    (error: Error) => error instanceof ConfigError && /BEDROCK_AWS_ACCESS_KEY_ID, BEDROCK_AWS_SECRET_ACCESS_KEY: set both/.test(error.message),
  );
});

test('a user-provided base URL is refused at start-up on protocols whose SDK follows redirects (google, bedrock)', () => {
  const file = path.join(dataDir, 'user-url.yaml');
  const custom = (provider: string) => `endpoints:\n  custom:\n    - name: mine\n      provider: ${provider}\n      apiKey: user_provided\n      baseURL: user_provided\n      models:\n        default: [m]\n`;
  const load = () => loadEndpointsConfig(loadConfig({ DATA_DIR: dataDir, CONFIG_PATH: file }));
  for (const provider of ['google', 'bedrock']) {
    writeFileSync(file, custom(provider));
    assert.throws(load, (error: Error) => error instanceof ConfigError && new RegExp(`mine: baseURL: user_provided is supported with provider openai or anthropic, not ${provider}`).test(error.message));
  }
  for (const provider of ['openai', 'anthropic']) {
    writeFileSync(file, custom(provider));
    assert.equal(load().endpoints.find((endpoint) => endpoint.name === 'mine')!.userProvideURL, true);
  }
});
