/**
 * Presets (`/api/presets`) as LibreChat's server answers them; every preset answer is parsed with the
 * client's `tPresetSchema`.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { tPresetSchema, type PresetDeleteResponse, type TPreset } from 'librechat-data-provider';
import { Preset } from '../shared/models/index.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

type User = Awaited<ReturnType<typeof registerAndLogin>>;

async function listPresets(user: User) {
  const response = await http.get('/api/presets', { token: user.token });
  assert.equal(response.status, 200);
  return tPresetSchema.array().parse(response.body);
}

async function savePreset(user: User, preset: Partial<TPreset>) {
  const response = await http.post('/api/presets', { token: user.token, body: preset });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return tPresetSchema.parse(response.body);
}

describe('/api/presets', () => {
  test('creates a preset with a new id, keeps the client\'s parameters, and updates it by presetId', async () => {
    const user = await registerAndLogin(http, 'presets');
    assert.deepEqual(await listPresets(user), []);

    const created = await savePreset(user, { title: 'Careful', endpoint: 'demo', model: 'demo-fast', temperature: 0.2, promptPrefix: 'Be careful.' });
    assert.match(created.presetId!, /^[0-9a-f-]{36}$/);
    assert.deepEqual([created.title, created.endpoint, created.model, created.temperature, created.promptPrefix], ['Careful', 'demo', 'demo-fast', 0.2, 'Be careful.']);
    const raw = (await http.get('/api/presets', { token: user.token })).body[0];
    assert.equal(raw.user, undefined);
    assert.equal(raw._id, undefined);

    const updated = await savePreset(user, { presetId: created.presetId, title: 'Careful v2', endpoint: 'demo', temperature: 0.4 });
    assert.equal(updated.presetId, created.presetId);
    assert.deepEqual([updated.title, updated.temperature, updated.promptPrefix], ['Careful v2', 0.4, 'Be careful.']);
    assert.equal((await listPresets(user)).length, 1);
    // Saving only the id changes nothing and answers the preset.
    assert.equal((await savePreset(user, { presetId: created.presetId })).title, 'Careful v2');

    // The client's own id is kept; server-owned fields sent by the client are ignored.
    const named = await savePreset(user, { presetId: 'client-chosen-id', title: 'Named', endpoint: 'demo', user: 'someone-else' } as Partial<TPreset>);
    assert.equal(named.presetId, 'client-chosen-id');
    assert.equal(named.user, undefined);

    // Plugin tools are kept by key, as LibreChat keeps them.
    const withTools = await http.post('/api/presets', { token: user.token, body: { title: 'Tools', endpoint: 'demo', tools: [{ pluginKey: 'calculator', name: 'Calculator' }, 'web', 7] } });
    assert.deepEqual(withTools.body.tools, ['calculator', 'web']);
  });

  test('one default preset at a time, listed first; defaultPreset false unsets it', async () => {
    const user = await registerAndLogin(http, 'presets-default');
    const a = await savePreset(user, { title: 'A', endpoint: 'demo' });
    const b = await savePreset(user, { title: 'B', endpoint: 'demo' });
    assert.deepEqual((await listPresets(user)).map((preset) => preset.title), ['B', 'A']);

    const defaultA = await savePreset(user, { presetId: a.presetId, title: 'A', endpoint: 'demo', defaultPreset: true });
    assert.deepEqual([defaultA.defaultPreset, defaultA.order], [true, 0]);
    assert.deepEqual((await listPresets(user)).map((preset) => [preset.title, preset.defaultPreset ?? false]), [['A', true], ['B', false]]);

    await savePreset(user, { presetId: b.presetId, title: 'B', endpoint: 'demo', defaultPreset: true });
    assert.deepEqual((await listPresets(user)).map((preset) => [preset.title, preset.defaultPreset ?? false, preset.order]), [['B', true, 0], ['A', false, undefined]]);

    const unset = await savePreset(user, { presetId: b.presetId, title: 'B', endpoint: 'demo', defaultPreset: false });
    assert.equal(unset.defaultPreset, undefined);
    assert.equal(unset.order, undefined);
  });

  test('POST /api/presets/delete removes one by presetId, or all without one', async () => {
    const user = await registerAndLogin(http, 'presets-delete');
    const kept = await savePreset(user, { title: 'Kept', endpoint: 'demo' });
    const removed = await savePreset(user, { title: 'Removed', endpoint: 'demo' });

    const one = await http.post('/api/presets/delete', { token: user.token, body: { presetId: removed.presetId } });
    assert.equal(one.status, 201);
    assert.deepEqual(one.body, { acknowledged: true, deletedCount: 1 } satisfies PresetDeleteResponse);
    assert.deepEqual((await listPresets(user)).map((preset) => preset.presetId), [kept.presetId]);
    assert.equal((await http.post('/api/presets/delete', { token: user.token, body: { presetId: removed.presetId } })).status, 404);

    await savePreset(user, { title: 'Another', endpoint: 'demo' });
    const all = await http.post('/api/presets/delete', { token: user.token, body: {} });
    assert.equal(all.status, 201);
    assert.deepEqual(all.body, { acknowledged: true, deletedCount: 2 });
    assert.deepEqual(await listPresets(user), []);
  });

  test('another user\'s presets answer 404 and are neither changed, shadowed nor deleted', async () => {
    const owner = await registerAndLogin(http, 'presets-owner');
    const other = await registerAndLogin(http, 'presets-other');
    const preset = await savePreset(owner, { title: 'Mine', endpoint: 'demo', promptPrefix: 'secret' });

    assert.deepEqual(await listPresets(other), []);
    const overwrite = await http.post('/api/presets', { token: other.token, body: { presetId: preset.presetId, title: 'Stolen', endpoint: 'demo' } });
    assert.equal(overwrite.status, 404);
    assert.equal(overwrite.body.message, 'Preset not found');
    assert.equal(JSON.stringify(overwrite.body).includes('secret'), false);
    assert.equal((await http.post('/api/presets/delete', { token: other.token, body: { presetId: preset.presetId } })).status, 404);
    // "Delete all" is only ever the caller's own.
    await http.post('/api/presets/delete', { token: other.token, body: {} });

    assert.deepEqual(await listPresets(other), []);
    assert.deepEqual((await listPresets(owner)).map((saved) => [saved.title, saved.promptPrefix]), [['Mine', 'secret']]);
  });

  test('refuses bad input with 400 and a clear message', async () => {
    const user = await registerAndLogin(http, 'presets-bad');
    const cases: Array<[body: unknown, message: RegExp]> = [
      [{ title: 't'.repeat(201), endpoint: 'demo' }, /^title: must be at most 200 characters$/],
      [{ title: 5, endpoint: 'demo' }, /^title: must be a string$/],
      [{ presetId: 'not an id', endpoint: 'demo' }, /^presetId: /],
      [{ defaultPreset: 'yes', endpoint: 'demo' }, /^defaultPreset: must be a boolean$/],
      [{ endpoint: 'demo', promptPrefix: 'p'.repeat(33 * 1024) }, /^preset is too large \(at most 32 KB\)$/],
      [{ endpoint: 'demo', $where: 'x' }, /^Field names may not start with "\$" or contain "\." \(got "\$where"\)$/],
      [{ endpoint: 'demo', nested: { 'a.b': 1 } }, /\(got "a\.b"\)$/],
      [[1, 2], /expected object/i],
    ];
    for (const [body, message] of cases) {
      const response = await http.post('/api/presets', { token: user.token, body });
      assert.equal(response.status, 400, JSON.stringify(body).slice(0, 100));
      assert.match(response.body.message, message);
    }
    const badDelete = await http.post('/api/presets/delete', { token: user.token, body: { presetId: 'a b' } });
    assert.equal(badDelete.status, 400);
    assert.match(badDelete.body.message, /^presetId: /);
    assert.deepEqual(await listPresets(user), []);
    assert.equal((await http.get('/api/presets')).status, 401);
    assert.equal((await http.post('/api/presets', { body: { endpoint: 'demo' } })).status, 401);
  });

  test('a user keeps at most 200 presets; saving an existing one still works at the limit', async () => {
    const user = await registerAndLogin(http, 'presets-limit');
    // Written directly: two hundred requests would only slow the suite down.
    await Preset.insertMany(Array.from({ length: 200 }, (_, index) => ({ presetId: `limit-${user.user.id}-${index}`, user: user.user.id, title: `P${index}`, endpoint: 'demo' })));
    const refused = await http.post('/api/presets', { token: user.token, body: { title: 'One too many', endpoint: 'demo' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.message, 'at most 200 presets per user');
    const updated = await savePreset(user, { presetId: `limit-${user.user.id}-7`, title: 'Renamed', endpoint: 'demo' });
    assert.equal(updated.title, 'Renamed');
  });
});
