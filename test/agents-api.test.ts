/**
 * The Agents API as LibreChat's server answers it (LIBRECHAT-API.md §1), through the real app: role checks,
 * the ACL (owner entry on create, 404 for agents a user cannot see, 403 for a missing bit, ADMIN bypass),
 * versions, paging. The client's own request helpers (`dataService`) call it too; librechat-data-provider
 * exports TypeScript types for agents but no zod schemas, so bodies are checked with `satisfies`.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import axios from 'axios';
import Fastify from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { dataService, setTokenHeader, type Agent as ClientAgent, type AgentCreateParams, type AgentListResponse, type TMarketplaceCategory } from 'librechat-data-provider';
import { authenticatePlugin } from '../api/plugins/authenticate.ts';
import { errorHandlerPlugin } from '../api/plugins/error-handler.ts';
import { agentRoutes } from '../api/routes/agents.ts';
import { createAgentService } from '../api/services/agent-service.ts';
import { loadEndpointsConfig } from '../shared/endpoints-config.ts';
import { AclEntry } from '../shared/models/acl-entry.ts';
import { Agent } from '../shared/models/agent.ts';
import { User } from '../shared/models/index.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

type Login = Awaited<ReturnType<typeof registerAndLogin>>;
let app: TestApp;
let http: HttpClient;
let admin: Login;
let alice: Login;
let bob: Login;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  // The first account of a fresh database becomes ADMIN.
  admin = await registerAndLogin(http, 'admin');
  assert.equal(admin.user.role, 'ADMIN');
  alice = await registerAndLogin(http, 'alice');
  bob = await registerAndLogin(http, 'bob');
  axios.defaults.baseURL = app.baseUrl;
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

async function createAgent(token: string, body: Record<string, unknown> = {}) {
  const response = await http.post<ClientAgent & { versions: Record<string, unknown>[] }>('/api/agents', {
    token,
    body: { name: 'Helper', provider: 'demo', model: 'demo-fast', instructions: 'Be brief.', ...body },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** What §8's sharing routes will write (not built yet): an entry for one user, or for everyone. */
async function share(agentId: string, principal: { userId: string } | 'public', permBits = 1) {
  const agent = await Agent.findOne({ id: agentId }).lean<{ _id: unknown }>();
  const who = principal === 'public' ? { principalType: 'public' } : { principalType: 'user', principalId: principal.userId, principalModel: 'User' };
  await AclEntry.create({ ...who, resourceType: 'agent', resourceId: agent!._id, permBits });
}

describe('creating and reading agents', () => {
  test('POST creates an agent owned by its creator, with its first version', async () => {
    const agent = await createAgent(alice.token, { description: 'Answers briefly', tools: ['web_search', 'web_search', 'execute_code'], model_parameters: { temperature: 0.2 }, conversation_starters: ['Hi'] });
    assert.match(agent.id, /^agent_[A-Za-z0-9_-]{21}$/);
    assert.match(agent._id!, /^[a-f\d]{24}$/);
    assert.equal(agent.author, alice.user.id);
    assert.equal(agent.authorName, alice.user.name);
    assert.equal(agent.provider, 'demo');
    assert.equal(agent.model, 'demo-fast');
    assert.equal(agent.category, 'general');
    assert.deepEqual(agent.tools, ['web_search', 'execute_code']);
    assert.deepEqual(agent.model_parameters, { temperature: 0.2 });
    assert.equal(agent.version, 1);
    assert.equal(agent.versions.length, 1);
    assert.equal(agent.versions[0]!.instructions, 'Be brief.');
    assert.equal((agent as Record<string, unknown>).__v, undefined);

    const owner = await AclEntry.findOne({ resourceType: 'agent', resourceId: agent._id }).lean<{ principalType: string; principalId: string; permBits: number }>();
    assert.equal(owner?.principalType, 'user');
    assert.equal(owner?.principalId, alice.user.id);
    assert.equal(owner?.permBits, 15);
  });

  test('the provider must be an endpoint of this server; it is matched case-insensitively', async () => {
    const agent = await createAgent(alice.token, { provider: 'DEMO' });
    assert.equal(agent.provider, 'demo');
    const unknown = await http.post('/api/agents', { token: alice.token, body: { provider: 'nosuchendpoint', model: 'x' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /^provider: "nosuchendpoint" is not an endpoint of this server \(available: .*demo/);
  });

  test('invalid input is a 400 naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model: 'demo-fast' }, /^provider: is required/],
      [{ provider: 'demo' }, /^model: is required/],
      [{ provider: 'demo', model: '  ' }, /^model: is required/],
      [{ provider: 'demo', model: 'demo-fast', tools: [{ name: 'x' }] }, /^tools\.0: must be a string/],
      [{ provider: 'demo', model: 'demo-fast', tools: Array.from({ length: 101 }, (_, index) => `tool_${index}`) }, /^tools: must have at most 100 entries/],
      [{ provider: 'demo', model: 'demo-fast', instructions: 'x'.repeat(100_001) }, /^instructions: must be at most 100000 characters/],
      [{ provider: 'demo', model: 'demo-fast', name: 'n'.repeat(257) }, /^name: must be at most 256 characters/],
      [{ provider: 'demo', model: 'demo-fast', recursion_limit: 0 }, /^recursion_limit:/],
      [{ provider: 'demo', model: 'demo-fast', support_contact: { email: 'not an email' } }, /^support_contact\.email:/],
      [{ provider: 'demo', model: 'demo-fast', model_parameters: 'hot' }, /^model_parameters: must be an object/],
    ];
    for (const [body, message] of cases) {
      const response = await http.post('/api/agents', { token: alice.token, body });
      assert.equal(response.status, 400, JSON.stringify(body).slice(0, 200));
      assert.match(response.body.message, message);
    }
    // Server-owned fields from the client are dropped, not trusted.
    const agent = await createAgent(alice.token, { author: bob.user.id, id: 'agent_chosen', is_promoted: true, versions: [] });
    assert.equal(agent.author, alice.user.id);
    assert.notEqual(agent.id, 'agent_chosen');
    assert.equal((agent as { is_promoted?: boolean }).is_promoted, false);
    assert.equal(agent.version, 1);
  });

  test('GET /:id is the safe subset (author only for the author); /expanded the full agent for EDIT', async () => {
    const agent = await createAgent(alice.token, { name: 'Secretive', instructions: 'The secret is 42.' });
    const own = await http.get(`/api/agents/${agent.id}`, { token: alice.token });
    assert.equal(own.status, 200);
    // LibreChat's subset; `description` and `avatar` are left out when unset.
    assert.deepEqual(Object.keys(own.body).sort(), ['_id', 'author', 'createdAt', 'id', 'isCollaborative', 'isPublic', 'model', 'name', 'provider', 'updatedAt', 'version'].sort());
    assert.equal(own.body.author, alice.user.id);
    assert.equal(own.body.version, 1);
    assert.equal(own.body.isPublic, false);

    const expanded = await http.get(`/api/agents/${agent.id}/expanded`, { token: alice.token });
    assert.equal(expanded.status, 200);
    assert.equal(expanded.body.instructions, 'The secret is 42.');
    assert.equal(expanded.body.versions.length, 1);

    // Another user cannot see it at all: 404 for every route, as if it did not exist.
    for (const [method, path] of [['get', ''], ['get', '/expanded'], ['patch', ''], ['delete', ''], ['post', '/duplicate'], ['post', '/revert']] as const) {
      const response = await http[method](`/api/agents/${agent.id}${path}`, { token: bob.token, body: method === 'get' || method === 'delete' ? undefined : path === '/revert' ? { version_index: 0 } : { name: 'Mine now' } });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.deepEqual([response.body.error, response.body.message], ['Not Found', 'agent not found']);
    }
    assert.equal((await http.get('/api/agents/agent_doesnotexist', { token: alice.token })).status, 404);
    assert.equal((await http.get(`/api/agents/${agent.id}`)).status, 401);

    // ADMIN bypasses the ACL, but is not the author.
    const asAdmin = await http.get(`/api/agents/${agent.id}`, { token: admin.token });
    assert.equal(asAdmin.status, 200);
    assert.equal(asAdmin.body.author, undefined);
    const adminExpanded = await http.get(`/api/agents/${agent.id}/expanded`, { token: admin.token });
    assert.equal(adminExpanded.body.instructions, 'The secret is 42.');
  });

  test('a VIEW grant shows the agent but not its configuration; changing it is 403', async () => {
    const agent = await createAgent(alice.token, { name: 'Shared helper' });
    await share(agent.id, { userId: bob.user.id });
    const viewed = await http.get(`/api/agents/${agent.id}`, { token: bob.token });
    assert.equal(viewed.status, 200);
    assert.equal(viewed.body.isPublic, false);
    assert.equal(viewed.body.author, undefined);
    assert.equal(viewed.body.instructions, undefined);
    for (const [method, path] of [['get', '/expanded'], ['patch', ''], ['delete', '']] as const) {
      const response = await http[method](`/api/agents/${agent.id}${path}`, { token: bob.token, body: method === 'patch' ? { name: 'Taken' } : undefined });
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.deepEqual([response.body.error, response.body.message], ['Forbidden', 'Insufficient permissions to access this agent']);
    }
    const revert = await http.post(`/api/agents/${agent.id}/revert`, { token: bob.token, body: { version_index: 0 } });
    assert.equal(revert.status, 403);
    assert.equal((await http.get(`/api/agents/${agent.id}`, { token: alice.token })).body.name, 'Shared helper');
  });
});

describe('updating, versions and reverting', () => {
  test('a real change pushes a full snapshot; an empty PATCH does not; a duplicate of the newest version is 409', async () => {
    const agent = await createAgent(alice.token, { name: 'Versioned', tools: ['a_tool', 'b_tool'] });
    const renamed = await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { name: 'Versioned v2', description: 'Now described' } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'Versioned v2');
    assert.equal(renamed.body.version, 2);
    const snapshot = renamed.body.versions[1];
    assert.equal(snapshot.name, 'Versioned v2');
    assert.equal(snapshot.instructions, 'Be brief.', 'a snapshot is the full state, not the change');
    assert.equal(snapshot.updatedBy, alice.user.id);
    assert.equal(renamed.body.author, alice.user.id);

    const empty = await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: {} });
    assert.equal(empty.status, 200);
    assert.equal(empty.body.version, 2);

    // Saving the same values again (tools in another order, an empty description still the same) would be a copy of version 1.
    const same = await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { name: 'Versioned v2', tools: ['b_tool', 'a_tool'], conversation_starters: [] } });
    assert.equal(same.status, 409, JSON.stringify(same.body));
    assert.equal(same.body.error, 'Duplicate version: This would create a version identical to an existing one');
    assert.equal(same.body.details.versionIndex, 1);
    assert.equal(same.body.details.duplicateVersion.name, 'Versioned v2');
    assert.equal((await Agent.findOne({ id: agent.id }).lean<{ versions: unknown[] }>())!.versions.length, 2);

    // null clears an optional field, and that is a change.
    const cleared = await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { description: null } });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.description, undefined);
    assert.equal(cleared.body.version, 3);

    const badProvider = await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { provider: 'elsewhere' } });
    assert.equal(badProvider.status, 400);
    assert.match(badProvider.body.message, /^provider: "elsewhere" is not an endpoint/);

    // ADMIN edits anyone's agent; the author field is only shown to the author.
    const byAdmin = await http.patch(`/api/agents/${agent.id}`, { token: admin.token, body: { instructions: 'Be thorough.' } });
    assert.equal(byAdmin.status, 200);
    assert.equal(byAdmin.body.version, 4);
    assert.equal(byAdmin.body.author, undefined);
    assert.equal(byAdmin.body.versions[3].updatedBy, admin.user.id);
  });

  test('concurrent updates each land in the history, none folded into a snapshot that misses another', async () => {
    const agent = await createAgent(alice.token, { name: 'Busy' });
    const words = ['one', 'two', 'three', 'four', 'five', 'six'];
    const results = await Promise.all(words.map((word) => http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { conversation_starters: [word] } })));
    assert.deepEqual(results.map((result) => result.status), words.map(() => 200));
    const stored = (await Agent.findOne({ id: agent.id }).lean<{ versions: { conversation_starters: string[] }[]; conversation_starters: string[] }>())!;
    assert.equal(stored.versions.length, 1 + words.length);
    assert.deepEqual(stored.versions.slice(1).map((version) => version.conversation_starters[0]).sort(), [...words].sort());
    assert.deepEqual(stored.versions.at(-1)!.conversation_starters, stored.conversation_starters);
  });

  test('revert restores a version\'s state (author or ADMIN), without pushing a version', async () => {
    const agent = await createAgent(alice.token, { name: 'Original', category: 'hr' });
    await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { name: 'Changed', category: 'it', description: 'Added later' } });
    const reverted = await http.post(`/api/agents/${agent.id}/revert`, { token: alice.token, body: { version_index: 0 } });
    assert.equal(reverted.status, 200, JSON.stringify(reverted.body));
    assert.equal(reverted.body.name, 'Original');
    assert.equal(reverted.body.category, 'hr');
    assert.equal(reverted.body.description, undefined, 'a field the version lacks is removed');
    assert.equal(reverted.body.version, 2);

    assert.equal((await http.post(`/api/agents/${agent.id}/revert`, { token: alice.token, body: { version_index: 5 } })).status, 404);
    const missing = await http.post(`/api/agents/${agent.id}/revert`, { token: alice.token, body: {} });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /^version_index: is required/);
    const byAdmin = await http.post(`/api/agents/${agent.id}/revert`, { token: admin.token, body: { version_index: 1 } });
    assert.equal(byAdmin.status, 200);
    assert.equal(byAdmin.body.name, 'Changed');
  });
});

describe('duplicating and deleting', () => {
  test('duplicate: a copy owned by the caller, named with the date, only the context resource, its own history', async () => {
    const agent = await createAgent(alice.token, {
      name: 'Researcher',
      instructions: 'Secret method: cite three sources.',
      tool_resources: { context: { file_ids: ['file-1'] }, file_search: { file_ids: ['file-2'] } },
    });
    await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { description: 'Two versions' } });
    const response = await http.post(`/api/agents/${agent.id}/duplicate`, { token: alice.token });
    assert.equal(response.status, 201);
    const { agent: copy, actions } = response.body;
    assert.deepEqual(actions, []);
    assert.notEqual(copy.id, agent.id);
    assert.match(copy.name, /^Researcher \(\d{1,2}\/\d{1,2}\/\d{2}, \d{2}:\d{2}\)$/);
    assert.equal(copy.author, alice.user.id);
    assert.equal(copy.description, 'Two versions');
    assert.deepEqual(copy.tool_resources, { context: { file_ids: ['file-1'] } });
    assert.equal(copy.version, 1);

    // Someone who can only view a shared agent may duplicate it into their own.
    await share(agent.id, { userId: bob.user.id });
    const bobsCopy = await http.post(`/api/agents/${agent.id}/duplicate`, { token: bob.token });
    assert.equal(bobsCopy.status, 201);
    assert.equal(bobsCopy.body.agent.author, bob.user.id);
    const bobsExpanded = await http.get(`/api/agents/${bobsCopy.body.agent.id}/expanded`, { token: bob.token });
    assert.equal(bobsExpanded.status, 200);
    // The instructions a viewer cannot read on the original do not come with a viewer's copy.
    assert.equal(bobsExpanded.body.instructions ?? undefined, undefined);
    const alicesExpanded = await http.get(`/api/agents/${copy.id}/expanded`, { token: alice.token });
    assert.equal(alicesExpanded.body.instructions, 'Secret method: cite three sources.', 'an editor\'s copy keeps them');
  });

  test('delete needs the DELETE bit, removes the ACL entries, and the agent is gone', async () => {
    const agent = await createAgent(alice.token, { name: 'Short-lived' });
    assert.equal((await http.delete(`/api/agents/${agent.id}`, { token: bob.token })).status, 404);
    const deleted = await http.delete(`/api/agents/${agent.id}`, { token: alice.token });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { message: 'Agent deleted' });
    assert.equal((await http.get(`/api/agents/${agent.id}`, { token: alice.token })).status, 404);
    assert.equal(await AclEntry.countDocuments({ resourceId: agent._id }), 0);

    const other = await createAgent(bob.token, { name: 'Bob\'s' });
    assert.equal((await http.delete(`/api/agents/${other.id}`, { token: admin.token })).status, 200);
  });
});

describe('listing', () => {
  test('pages with the cursor, newest update first, and shows only agents the user can see', async () => {
    const owner = await registerAndLogin(http, 'lister');
    const empty = await http.get<AgentListResponse>('/api/agents?limit=10', { token: owner.token });
    assert.deepEqual(empty.body, { object: 'list', data: [], first_id: null, last_id: null, has_more: false, after: null });

    const names = ['Alpha', 'Beta', 'Gamma', 'Delta (v2)', 'Epsilon'];
    const created: string[] = [];
    for (const name of names) created.push((await createAgent(owner.token, { name })).id);
    // Touch Beta: it becomes the most recently updated.
    await http.patch(`/api/agents/${created[1]}`, { token: owner.token, body: { description: 'touched' } });
    const strangers = await createAgent(bob.token, { name: 'Alpha of Bob' });

    const seen: string[] = [];
    let after: string | null | undefined;
    let pages = 0;
    do {
      const query: string = after ? `?limit=2&cursor=${encodeURIComponent(after)}` : '?limit=2&cursor=undefined';
      const page: { status: number; body: AgentListResponse } = await http.get(`/api/agents${query}`, { token: owner.token });
      assert.equal(page.status, 200);
      assert.equal(page.body.object, 'list');
      assert.ok(page.body.data.length <= 2);
      assert.equal(page.body.first_id, page.body.data[0]?.id ?? null);
      assert.equal(page.body.last_id, page.body.data.at(-1)?.id ?? null);
      seen.push(...page.body.data.map((agent) => agent.name!));
      after = page.body.after;
      assert.equal(!!after, page.body.has_more);
      pages += 1;
    } while (after && pages < 10);
    assert.deepEqual(seen, ['Beta', 'Epsilon', 'Delta (v2)', 'Gamma', 'Alpha']);
    assert.equal(pages, 3);

    const all = await http.get<AgentListResponse>('/api/agents', { token: owner.token });
    assert.equal(all.body.data.length, 5);
    assert.ok(!all.body.data.some((agent) => agent.id === strangers.id));
    const item = all.body.data[0]! as Record<string, unknown>;
    const projection = new Set(['_id', 'id', 'name', 'avatar', 'author', 'projectIds', 'description', 'updatedAt', 'category', 'support_contact', 'is_promoted', 'isPublic']);
    assert.deepEqual(Object.keys(item).filter((key) => !projection.has(key)), [], 'only LibreChat\'s list projection');
    assert.equal(item.instructions, undefined);
    assert.equal(item.author, owner.user.id);

    const search = await http.get<AgentListResponse>(`/api/agents?search=${encodeURIComponent('delta (V2')}`, { token: owner.token });
    assert.deepEqual(search.body.data.map((agent) => agent.name), ['Delta (v2)']);
    assert.equal((await http.get(`/api/agents?search=${encodeURIComponent('.*')}`, { token: owner.token })).body.data.length, 0);
    assert.equal((await http.get('/api/agents?limit=0', { token: owner.token })).body.data.length, 1, 'limit is clamped to 1..100');
    assert.equal((await http.get('/api/agents?cursor=bm90IGEgY3Vyc29y', { token: owner.token })).status, 400);
  });

  test('filters by category and promotion; requiredPermission selects editable agents', async () => {
    const owner = await registerAndLogin(http, 'curator');
    const hr = await createAgent(owner.token, { name: 'Recruiter', category: 'hr' });
    await createAgent(owner.token, { name: 'Generalist' });
    const promoted = await createAgent(owner.token, { name: 'Star', category: 'sales' });
    await Agent.updateOne({ id: promoted.id }, { $set: { is_promoted: true } });
    const shared = await createAgent(alice.token, { name: 'Alice shares this', category: 'hr' });
    await share(shared.id, 'public');
    const viewed = await http.get(`/api/agents/${shared.id}`, { token: owner.token });
    assert.equal(viewed.body.isPublic, true);

    const names = async (query: string) => (await http.get<AgentListResponse>(`/api/agents?${query}`, { token: owner.token })).body.data.map((agent) => agent.name).sort();
    assert.deepEqual(await names('category=hr'), ['Alice shares this', 'Recruiter']);
    assert.deepEqual(await names('category=all'), (await names('')).sort());
    assert.deepEqual(await names('promoted=1'), ['Star']);
    assert.deepEqual(await names('category=promoted'), ['Star']);
    assert.ok(!(await names('promoted=0')).includes('Star'));
    assert.deepEqual(await names('requiredPermission=2&category=hr'), ['Recruiter'], 'a public VIEW grant is not EDIT');

    const listed = await http.get<AgentListResponse>('/api/agents?category=hr', { token: owner.token });
    assert.equal(listed.body.data.find((agent) => agent.id === shared.id)?.isPublic, true);
    assert.equal(listed.body.data.find((agent) => agent.id === hr.id)?.isPublic, undefined);

    const categories = await http.get<TMarketplaceCategory[]>('/api/agents/categories', { token: owner.token });
    assert.equal(categories.status, 200);
    const values = categories.body.map((category) => category.value);
    assert.deepEqual(values, ['promoted', 'general', 'hr', 'rd', 'finance', 'it', 'sales', 'aftersales', 'all']);
    const byValue = new Map(categories.body.map((category) => [category.value, category]));
    assert.equal(byValue.get('hr')!.count, 2);
    assert.equal(byValue.get('promoted')!.count, 1);
    assert.equal(byValue.get('hr')!.label, 'com_agents_category_hr');
    assert.equal(byValue.get('hr')!.description, 'com_agents_category_hr_description');
    assert.equal(byValue.get('all')!.count, (await names('')).length);
    const fresh = await registerAndLogin(http, 'newcomer');
    const none = await http.get<TMarketplaceCategory[]>('/api/agents/categories', { token: fresh.token });
    assert.equal(none.body[0]!.value, 'general', 'no promoted entry when nothing visible is promoted');
  });
});

describe('role checks', () => {
  test('sharing to projects needs SHARED_GLOBAL; a role without AGENTS.USE gets nothing', async () => {
    const agent = await createAgent(alice.token, { name: 'Project agent' });
    const refused = await http.patch(`/api/agents/${agent.id}`, { token: alice.token, body: { projectIds: ['global'] } });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.message, 'Forbidden: Insufficient permissions');
    const shared = await http.patch(`/api/agents/${agent.id}`, { token: admin.token, body: { projectIds: ['global'] } });
    assert.equal(shared.status, 200);
    assert.deepEqual(shared.body.projectIds, ['global']);
    assert.equal(shared.body.version, 1, 'sharing is not a version');

    const guest = await registerAndLogin(http, 'guest');
    await User.updateOne({ _id: guest.user.id }, { $set: { role: 'GUEST' } });
    // The authentication's user lookup answers from a read at most 1 s old.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (const [method, path] of [['get', '/api/agents'], ['post', '/api/agents'], ['get', `/api/agents/${agent.id}`]] as const) {
      const response = await http[method](path, { token: guest.token, body: method === 'post' ? { provider: 'demo', model: 'demo-fast' } : undefined });
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(response.body.message, 'Forbidden: Insufficient permissions');
    }
  });
});

describe('routing beside the other /api/agents plugins', () => {
  test('/categories, /tools and /chat are not taken by /:id', async () => {
    // The real auth and error plugins and these routes, plus a stand-in for the tools/chat plugin that
    // another module registers under the same prefix.
    const server = Fastify();
    await server.register(errorHandlerPlugin);
    await server.register(authenticatePlugin, { config: app.config });
    await server.register(agentRoutes, { prefix: '/api/agents', agents: createAgentService({ endpoints: loadEndpointsConfig(app.config) }) });
    await server.register(
      async (tools) => {
        tools.get('/tools', async () => ['from the tools plugin']);
        tools.post('/chat/:endpoint', async () => ({ chat: true }));
      },
      { prefix: '/api/agents' },
    );
    const headers = { authorization: `Bearer ${alice.token}` };
    assert.deepEqual((await server.inject({ method: 'GET', url: '/api/agents/tools', headers })).json(), ['from the tools plugin']);
    assert.deepEqual((await server.inject({ method: 'POST', url: '/api/agents/chat/agents', headers, payload: {} })).json(), { chat: true });
    const categories = await server.inject({ method: 'GET', url: '/api/agents/categories', headers });
    assert.equal(categories.statusCode, 200);
    assert.ok(Array.isArray(categories.json()));
    const agent = await createAgent(alice.token, { name: 'Routed' });
    assert.equal((await server.inject({ method: 'GET', url: `/api/agents/${agent.id}`, headers })).json().name, 'Routed');
    await server.close();

    // And on the real app.
    assert.equal((await http.get('/api/agents/categories', { token: alice.token })).status, 200);
    assert.equal((await http.get(`/api/agents/${agent.id}`, { token: alice.token })).body.name, 'Routed');
  });
});

describe('the agent run\'s loader', () => {
  test('loadAgentForRun: the run\'s fields for a user who can VIEW, null otherwise, ADMIN sees all', async () => {
    const service = createAgentService({ endpoints: loadEndpointsConfig(app.config) });
    const agent = await createAgent(alice.token, { name: 'Runner', tools: ['web_search'], model_parameters: { temperature: 0 }, recursion_limit: 12 });
    const loaded = await service.loadAgentForRun({ id: alice.user.id, role: 'USER' }, agent.id);
    assert.deepEqual(loaded, {
      id: agent.id,
      name: 'Runner',
      instructions: 'Be brief.',
      provider: 'demo',
      model: 'demo-fast',
      model_parameters: { temperature: 0 },
      tools: ['web_search'],
      recursion_limit: 12,
      file_search_file_ids: [],
      author: alice.user.id,
    });
    assert.equal(await service.loadAgentForRun({ id: bob.user.id, role: 'USER' }, agent.id), null);
    assert.equal((await service.loadAgentForRun({ id: admin.user.id, role: 'ADMIN' }, agent.id))?.id, agent.id);
    assert.equal(await service.loadAgentForRun({ id: alice.user.id, role: 'USER' }, 'agent_missing'), null);
    await share(agent.id, { userId: bob.user.id });
    assert.equal((await service.loadAgentForRun({ id: bob.user.id, role: 'USER' }, agent.id))?.id, agent.id);
  });
});

describe('LibreChat\'s client helpers', () => {
  test('dataService calls every agents route and gets the shapes its types describe', async () => {
    setTokenHeader(alice.token);
    const params: AgentCreateParams = { name: 'From the client', description: 'desc', instructions: 'Hi', provider: 'demo', model: 'demo-fast', model_parameters: {} as AgentCreateParams['model_parameters'], tools: [] };
    const created = (await dataService.createAgent(params)) satisfies ClientAgent;
    assert.match(created.id, /^agent_/);
    const got = (await dataService.getAgentById({ agent_id: created.id })) satisfies ClientAgent;
    assert.equal(got.name, 'From the client');
    const expanded = (await dataService.getExpandedAgentById({ agent_id: created.id })) satisfies ClientAgent;
    assert.equal(expanded.instructions, 'Hi');
    const updated = (await dataService.updateAgent({ agent_id: created.id, data: { name: 'Renamed by the client' } })) satisfies ClientAgent;
    assert.equal(updated.version, 2);
    const list = (await dataService.listAgents({ requiredPermission: 1, limit: 5, search: 'Renamed by' })) satisfies AgentListResponse;
    assert.deepEqual(list.data.map((agent) => agent.id), [created.id]);
    const categories = (await dataService.getAgentCategories()) satisfies TMarketplaceCategory[];
    assert.equal(categories.at(-1)!.value, 'all');
    const duplicated = await dataService.duplicateAgent({ agent_id: created.id });
    assert.match(duplicated.agent.name!, /^Renamed by the client \(/);
    const reverted = (await dataService.revertAgentVersion({ agent_id: created.id, version_index: 0 })) satisfies ClientAgent;
    assert.equal(reverted.name, 'From the client');
    await dataService.deleteAgent({ agent_id: duplicated.agent.id });
    await assert.rejects(dataService.getAgentById({ agent_id: duplicated.agent.id }), (error: { response?: { status?: number } }) => error.response?.status === 404);
  });
});
