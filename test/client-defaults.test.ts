/**
 * The routes LibreChat's web clients call besides chat: each answers exactly as LibreChat's server does with
 * the feature off or empty (favorites and the token config are real). Expected bodies are checked against
 * `librechat-data-provider`'s types (`satisfies`) or zod schemas wherever it has one.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import {
  AuthType,
  fileConfigSchema,
  type ProjectListResponse,
  type TFile,
  type TTokenConfigMap,
  type TUserFavorite,
  type ToolCallResults,
  type VerifyToolAuthResponse,
} from 'librechat-data-provider';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
let token: string;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  token = (await registerAndLogin(http)).token;
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

/** GET routes whose answer is fixed, with LibreChat's body for "feature off or empty". */
const fixedAnswers: Array<[path: string, body: unknown]> = [
  ['/api/projects', { projects: [], nextCursor: null } satisfies ProjectListResponse],
  // Real since issue 11 (api/routes/files.ts): a new user has no files, and the YAML sets no fileConfig.
  ['/api/files', [] satisfies TFile[]],
  ['/api/files/config', {}],
  // The data-provider types this as a string map, but LibreChat's server sends booleans here.
  ['/api/files/speech/config/get', { sttExternal: false, ttsExternal: false }],
  ['/api/agents/tools/calls?conversationId=c1', [] satisfies ToolCallResults],
  [
    '/api/agents/tools/web_search/auth',
    {
      authenticated: false,
      authTypes: [['providers', AuthType.USER_PROVIDED], ['scrapers', AuthType.USER_PROVIDED], ['rerankers', AuthType.SYSTEM_DEFINED]],
    } satisfies VerifyToolAuthResponse,
  ],
  ['/api/agents/tools/execute_code/auth', { authenticated: true, message: AuthType.SYSTEM_DEFINED } satisfies VerifyToolAuthResponse],
];

const steerPaths = ['/api/agents/chat/steer', '/api/agents/chat/steer/cancel', '/api/agents/chat/steer/arm'];

describe('feature-off answers', () => {
  for (const [path, body] of fixedAnswers) {
    test(`GET ${path} answers 200 ${JSON.stringify(body)}`, async () => {
      const response = await http.get(path, { token });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /application\/json/);
      assert.deepEqual(response.body, body);
    });
  }

  test('every route but the banner answers 401 without a token', async () => {
    const paths = [...fixedAnswers.map(([path]) => path), '/api/user/settings/favorites', '/api/endpoints/token-config'];
    for (const path of paths) assert.equal((await http.get(path)).status, 401, path);
    assert.equal((await http.post('/api/user/settings/favorites', { body: { favorites: [] } })).status, 401);
    for (const path of steerPaths) assert.equal((await http.post(path, { body: { conversationId: 'c1', text: 'hi' } })).status, 401, path);
  });

  test('GET /api/banner is public and answers 200 with an empty body, as LibreChat does with no banner', async () => {
    for (const options of [{}, { token }]) {
      const response = await http.get('/api/banner', options);
      assert.equal(response.status, 200);
      assert.equal(response.body, '');
      assert.equal(response.headers.get('content-type'), null);
    }
  });

  test('the answers parse with the client\'s zod schemas', async () => {
    fileConfigSchema.parse((await http.get('/api/files/config', { token })).body);
  });

  test('GET /api/agents/tools/:toolId/auth: 404 for a tool nobody offers, authenticated for a built-in one', async () => {
    const response = await http.get('/api/agents/tools/no_such_tool/auth', { token });
    assert.equal(response.status, 404);
    assert.equal(response.body.message, 'Tool not found');
    const builtin = await http.get('/api/agents/tools/calculator/auth', { token });
    assert.deepEqual(builtin.body, { authenticated: true });
  });

  test('GET /api/endpoints/token-config gives each configured model its context window', async () => {
    const response = await http.get('/api/endpoints/token-config', { token });
    assert.equal(response.status, 200);
    const models = { 'demo-fast': { context: 8192 }, 'demo-slow': { context: 8192 } };
    const expected = { demo: models, 'demo-claude': models, 'demo-bedrock': models, 'demo-gemini': models } satisfies TTokenConfigMap;
    assert.deepEqual(response.body, expected);
  });

  test('steering answers 501 STEER_UNSUPPORTED, so the newest client queues the message instead', async () => {
    for (const path of steerPaths) {
      const response = await http.post(path, { token, body: { conversationId: 'c1', text: 'hi', generationProtocolVersion: 2 } });
      assert.equal(response.status, 501, path);
      assert.equal(response.body.code, 'STEER_UNSUPPORTED');
      assert.equal(typeof response.body.message, 'string');
    }
  });
});

describe('favorites', () => {
  const saved = [{ agentId: 'agent_1' }, { model: 'demo-fast', endpoint: 'demo' }, { spec: 'writer' }] satisfies TUserFavorite[];

  test('are empty at first, saved per user, and answered as saved', async () => {
    const own = await registerAndLogin(http, 'favorites');
    const other = await registerAndLogin(http, 'favorites-other');
    assert.deepEqual((await http.get('/api/user/settings/favorites', { token: own.token })).body, []);

    const posted = await http.post('/api/user/settings/favorites', { token: own.token, body: { favorites: saved } });
    assert.equal(posted.status, 200);
    assert.deepEqual(posted.body, saved);
    assert.deepEqual((await http.get('/api/user/settings/favorites', { token: own.token })).body, saved);

    // Another user sees their own list, not this one.
    assert.deepEqual((await http.get('/api/user/settings/favorites', { token: other.token })).body, []);
    await http.post('/api/user/settings/favorites', { token: other.token, body: { favorites: [{ spec: 'other' }] } });
    assert.deepEqual((await http.get('/api/user/settings/favorites', { token: own.token })).body, saved);
    assert.deepEqual((await http.get('/api/user/settings/favorites', { token: other.token })).body, [{ spec: 'other' }]);

    // The client posts the whole list each time; an empty one clears it.
    assert.deepEqual((await http.post('/api/user/settings/favorites', { token: own.token, body: { favorites: [] } })).body, []);
    assert.deepEqual((await http.get('/api/user/settings/favorites', { token: own.token })).body, []);
    // Kept off the user document's default reads.
    assert.equal((await http.get('/api/user', { token: other.token })).body.favorites, undefined);
  });

  test('a bad body answers 400 with a clear message and changes nothing', async () => {
    const user = await registerAndLogin(http, 'favorites-bad');
    await http.post('/api/user/settings/favorites', { token: user.token, body: { favorites: [{ spec: 'kept' }] } });
    const cases: Array<[body: unknown, message: RegExp]> = [
      [{}, /^favorites: required$/],
      [{ favorites: 'agent_1' }, /^favorites: must be an array$/],
      [{ favorites: [{ agentId: 'a', model: 'm', endpoint: 'e' }] }, /^favorites\.0: must be exactly one of/],
      [{ favorites: [{ spec: 's' }, { model: 'demo-fast' }] }, /^favorites\.1: must be exactly one of/],
      [{ favorites: [{ spec: 'x'.repeat(257) }] }, /^favorites\.0\.spec: must be 1 to 256 characters$/],
      [{ favorites: [{ spec: '' }] }, /^favorites\.0\.spec: must be 1 to 256 characters$/],
      [{ favorites: [42] }, /^favorites\.0: must be exactly one of/],
    ];
    for (const [body, message] of cases) {
      const response = await http.post('/api/user/settings/favorites', { token: user.token, body });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(response.body.message, message);
    }
    const tooMany = await http.post('/api/user/settings/favorites', {
      token: user.token,
      body: { favorites: Array.from({ length: 51 }, (_, index) => ({ spec: `spec-${index}` })) },
    });
    assert.equal(tooMany.status, 400);
    assert.deepEqual(tooMany.body, { code: 'MAX_FAVORITES_EXCEEDED', message: 'Maximum 50 favorites allowed', limit: 50 });
    assert.deepEqual((await http.get('/api/user/settings/favorites', { token: user.token })).body, [{ spec: 'kept' }]);
  });
});
