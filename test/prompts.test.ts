/**
 * Prompts and prompt groups as LibreChat's server answers them (`api/server/routes/prompts.js`), owned
 * per user; bodies are checked against `librechat-data-provider`'s types with `satisfies`.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import axios from 'axios';
import { SystemCategories, dataService, setTokenHeader, type PromptGroupListResponse, type TCreatePrompt, type TDeletePromptResponse, type TGetCategoriesResponse, type TPrompt, type TPromptGroup } from 'librechat-data-provider';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let mallory: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  app = await startTestApp();
  http = createHttpClient(app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  mallory = await registerAndLogin(http, 'mallory');
  axios.defaults.baseURL = app.baseUrl;
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

async function createGroup(token: string, name: string, extra: Partial<NonNullable<TCreatePrompt['group']>> = {}, text = `${name} text`) {
  const body: TCreatePrompt = { prompt: { prompt: text, type: 'text' }, group: { name, ...extra } };
  const response = await http.post<{ prompt: TPrompt; group: TPromptGroup }>('/api/prompts', { token, body });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

describe('creating and reading prompt groups', () => {
  test('POST /api/prompts creates a group with its first version as the production one', async () => {
    const user = await registerAndLogin(http, 'creator');
    const { prompt, group } = await createGroup(user.token, 'Code review', { category: 'code', oneliner: 'Reviews a diff', command: 'review' }, 'Review this diff: {{diff}}');
    assert.match(prompt._id!, /^[a-f\d]{24}$/);
    assert.equal(prompt.groupId, group._id);
    assert.equal(prompt.author, user.user.id);
    assert.equal(prompt.type, 'text');
    assert.equal(group.name, 'Code review');
    assert.equal(group.category, 'code');
    assert.equal(group.oneliner, 'Reviews a diff');
    assert.equal(group.command, 'review');
    assert.equal(group.productionId, prompt._id);
    assert.deepEqual(group.productionPrompt, { prompt: 'Review this diff: {{diff}}' });
    assert.equal(group.author, user.user.id);
    assert.equal(group.authorName, user.user.name);
    assert.equal(group.numberOfGenerations, 0);
    assert.equal((group as Record<string, unknown>).__v, undefined);

    const fetched = await http.get<TPromptGroup>(`/api/prompts/groups/${group._id}`, { token: user.token });
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.name, 'Code review');
    assert.deepEqual(fetched.body.productionPrompt, { _id: prompt._id, prompt: 'Review this diff: {{diff}}' });
  });

  test('GET /api/prompts/groups pages with LibreChat\'s cursor and filters by name and category', async () => {
    const user = await registerAndLogin(http, 'pager');
    const empty = await http.get<PromptGroupListResponse>('/api/prompts/groups?limit=10', { token: user.token });
    assert.deepEqual(empty.body, { promptGroups: [], pageNumber: '1', pageSize: '10', pages: '1', has_more: false, after: null } satisfies PromptGroupListResponse);

    for (const [name, category] of [['Alpha', 'write'], ['Beta', 'code'], ['Gamma', ''], ['Delta (v2)', 'write'], ['Epsilon', 'code']]) {
      await createGroup(user.token, name!, { category });
    }
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const query: string = after ? `?limit=2&cursor=${encodeURIComponent(after)}` : '?limit=2&cursor=undefined';
      const page: { status: number; body: PromptGroupListResponse } = await http.get(`/api/prompts/groups${query}`, { token: user.token });
      assert.equal(page.status, 200);
      assert.equal(page.body.pageSize, '2');
      assert.ok(page.body.promptGroups.length <= 2);
      assert.equal(page.body.pages, page.body.has_more ? '9999' : '1');
      seen.push(...page.body.promptGroups.map((group) => group.name));
      after = page.body.after;
      pages += 1;
    } while (after && pages < 10);
    assert.equal(pages, 3);
    // Newest first when none has been used.
    assert.deepEqual(seen, ['Epsilon', 'Delta (v2)', 'Gamma', 'Beta', 'Alpha']);

    const names = async (query: string) => (await http.get<PromptGroupListResponse>(`/api/prompts/groups?pageSize=10&${query}`, { token: user.token })).body.promptGroups.map((group) => group.name);
    assert.deepEqual(await names('category=write'), ['Delta (v2)', 'Alpha']);
    assert.deepEqual(await names(`category=${SystemCategories.NO_CATEGORY}`), ['Gamma']);
    assert.equal((await names(`category=${SystemCategories.MY_PROMPTS}`)).length, 5);
    assert.deepEqual(await names(`category=${SystemCategories.SHARED_PROMPTS}`), []);
    // The name filter is a case-insensitive substring; regex characters are literal.
    assert.deepEqual(await names('name=ALP'), ['Alpha']);
    assert.deepEqual(await names(`name=${encodeURIComponent('(v2)')}`), ['Delta (v2)']);
    assert.deepEqual(await names('name=.*'), []);

    // A used group moves to the front (LibreChat's order: numberOfGenerations first).
    const alpha = (await http.get<TPromptGroup[]>('/api/prompts/all?name=Alpha', { token: user.token })).body[0]!;
    const used = await http.post(`/api/prompts/groups/${alpha._id}/use`, { token: user.token });
    assert.deepEqual(used.body, { numberOfGenerations: 1 });
    assert.equal((await names(''))[0], 'Alpha');
  });

  test('GET /api/prompts/all lists every group of the user, flat, with its production prompt', async () => {
    const user = await registerAndLogin(http, 'all');
    await createGroup(user.token, 'One', {}, 'first');
    await createGroup(user.token, 'Two', { category: 'misc' }, 'second');
    const response = await http.get<TPromptGroup[]>('/api/prompts/all', { token: user.token });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.map((group) => [group.name, group.productionPrompt?.prompt]), [['Two', 'second'], ['One', 'first']]);
    assert.deepEqual((await http.get<TPromptGroup[]>('/api/prompts/all?category=misc', { token: user.token })).body.map((group) => group.name), ['Two']);
  });

  test('GET /api/categories lists LibreChat\'s prompt categories', async () => {
    const response = await http.get<TGetCategoriesResponse>('/api/categories', { token: alice.token });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.map((category) => category.value), ['idea', 'travel', 'teach_or_explain', 'write', 'shop', 'code', 'misc', 'roleplay', 'finance']);
    assert.equal(response.body[0]!.label, 'com_ui_idea');
    assert.equal((await http.get('/api/categories')).status, 401);
  });
});

describe('versions', () => {
  test('adding versions, listing them newest first, choosing the production one and deleting', async () => {
    const user = await registerAndLogin(http, 'versions');
    const { prompt: first, group } = await createGroup(user.token, 'Translator', {}, 'Translate: v1');
    // The newest client's route, and the older clients' `prompt.groupId` on POST /api/prompts.
    const second = await http.post<{ prompt: TPrompt }>(`/api/prompts/groups/${group._id}/prompts`, { token: user.token, body: { prompt: { prompt: 'Translate: v2', type: 'text' } } });
    assert.equal(second.status, 200);
    assert.equal(second.body.prompt.groupId, group._id);
    const third = await http.post<{ prompt: TPrompt }>('/api/prompts', { token: user.token, body: { prompt: { prompt: 'Translate: v3', type: 'chat', groupId: group._id } } });
    assert.equal(third.status, 200);
    assert.equal(third.body.prompt.type, 'chat');

    const versions = await http.get<TPrompt[]>(`/api/prompts?groupId=${group._id}`, { token: user.token });
    assert.equal(versions.status, 200);
    assert.deepEqual(versions.body.map((prompt) => prompt.prompt), ['Translate: v3', 'Translate: v2', 'Translate: v1']);
    // Adding a version does not change the production one.
    assert.equal((await http.get<TPromptGroup>(`/api/prompts/groups/${group._id}`, { token: user.token })).body.productionId, first._id);

    const made = await http.patch(`/api/prompts/${second.body.prompt._id}/tags/production`, { token: user.token });
    assert.equal(made.status, 200);
    assert.deepEqual(made.body, { message: 'Prompt production made successfully' });
    const afterMake = await http.get<TPromptGroup>(`/api/prompts/groups/${group._id}`, { token: user.token });
    assert.equal(afterMake.body.productionId, second.body.prompt._id);
    assert.equal(afterMake.body.productionPrompt?.prompt, 'Translate: v2');

    const single = await http.get<TPrompt>(`/api/prompts/${first._id}`, { token: user.token });
    assert.equal(single.body.prompt, 'Translate: v1');

    // Deleting the production version promotes the newest remaining one.
    const deleted = await http.delete<TDeletePromptResponse>(`/api/prompts/${second.body.prompt._id}?groupId=${group._id}`, { token: user.token });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { prompt: 'Prompt deleted successfully' });
    assert.equal((await http.get<TPromptGroup>(`/api/prompts/groups/${group._id}`, { token: user.token })).body.productionId, third.body.prompt._id);

    await http.delete(`/api/prompts/${third.body.prompt._id}?groupId=${group._id}`, { token: user.token });
    // The last version takes its group with it.
    const last = await http.delete<TDeletePromptResponse>(`/api/prompts/${first._id}?groupId=${group._id}`, { token: user.token });
    assert.deepEqual(last.body, { prompt: 'Prompt deleted successfully', promptGroup: { message: 'Prompt group deleted successfully', id: group._id! } });
    assert.equal((await http.get(`/api/prompts/groups/${group._id}`, { token: user.token })).status, 404);
    assert.deepEqual((await http.get('/api/prompts/all', { token: user.token })).body, []);
  });

  test('GET /api/prompts without a group lists the user\'s own versions', async () => {
    const user = await registerAndLogin(http, 'own-versions');
    await createGroup(user.token, 'Mine', {}, 'mine');
    const response = await http.get<TPrompt[]>('/api/prompts', { token: user.token });
    assert.deepEqual(response.body.map((prompt) => prompt.prompt), ['mine']);
  });
});

describe('updating and deleting groups', () => {
  test('PATCH /api/prompts/groups/:groupId changes name, category, oneliner and command', async () => {
    const user = await registerAndLogin(http, 'patcher');
    const { group } = await createGroup(user.token, 'Draft', { command: 'draft' });
    const patched = await http.patch<TPromptGroup>(`/api/prompts/groups/${group._id}`, { token: user.token, body: { name: 'Final', category: 'write', oneliner: 'Polishes text' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Final');
    assert.equal(patched.body.category, 'write');
    assert.equal(patched.body.oneliner, 'Polishes text');
    assert.equal(patched.body.command, 'draft');
    assert.equal(patched.body._id, group._id);

    const cleared = await http.patch<TPromptGroup>(`/api/prompts/groups/${group._id}`, { token: user.token, body: { command: null } });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.command, undefined);
  });

  test('DELETE /api/prompts/groups/:groupId removes the group and its versions', async () => {
    const user = await registerAndLogin(http, 'group-deleter');
    const { group, prompt } = await createGroup(user.token, 'Doomed');
    const deleted = await http.delete(`/api/prompts/groups/${group._id}`, { token: user.token });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { message: 'Prompt group deleted successfully' });
    assert.equal((await http.get(`/api/prompts/${prompt._id}`, { token: user.token })).status, 404);
    assert.equal((await http.delete(`/api/prompts/groups/${group._id}`, { token: user.token })).status, 404);
  });
});

describe('ownership and validation', () => {
  test('another user\'s groups and versions answer 404 on every route and never appear in lists', async () => {
    const { group, prompt } = await createGroup(alice.token, 'Alice secret', { category: 'idea' });
    const token = mallory.token;
    const notFound = [
      await http.get(`/api/prompts/groups/${group._id}`, { token }),
      await http.patch(`/api/prompts/groups/${group._id}`, { token, body: { name: 'Stolen' } }),
      await http.delete(`/api/prompts/groups/${group._id}`, { token }),
      await http.post(`/api/prompts/groups/${group._id}/prompts`, { token, body: { prompt: { prompt: 'x', type: 'text' } } }),
      await http.post('/api/prompts', { token, body: { prompt: { prompt: 'x', type: 'text', groupId: group._id } } }),
      await http.post(`/api/prompts/groups/${group._id}/use`, { token }),
      await http.get(`/api/prompts?groupId=${group._id}`, { token }),
      await http.get(`/api/prompts/${prompt._id}`, { token }),
      await http.patch(`/api/prompts/${prompt._id}/tags/production`, { token }),
      await http.delete(`/api/prompts/${prompt._id}?groupId=${group._id}`, { token }),
    ];
    for (const response of notFound) assert.equal(response.status, 404, JSON.stringify(response.body));
    assert.equal((await http.get<PromptGroupListResponse>('/api/prompts/groups?limit=50', { token })).body.promptGroups.some((item) => item._id === group._id), false);
    assert.equal((await http.get<TPromptGroup[]>('/api/prompts/all', { token })).body.some((item) => item._id === group._id), false);
    assert.deepEqual((await http.get('/api/prompts', { token })).body, []);
    // Still intact for its owner.
    const own = await http.get<TPromptGroup>(`/api/prompts/groups/${group._id}`, { token: alice.token });
    assert.equal(own.body.name, 'Alice secret');
  });

  test('refuses bad bodies, ids and queries with 400 naming the field, and requires a token', async () => {
    const token = alice.token;
    const cases: Array<[Promise<{ status: number; body: { message: string } }>, RegExp]> = [
      [http.post('/api/prompts', { token, body: { prompt: { prompt: 'x', type: 'text' } } }), /^prompt\.groupId|^must be/],
      [http.post('/api/prompts', { token, body: { prompt: { prompt: '   ', type: 'text' }, group: { name: 'Blank' } } }), /must not be empty|must be/],
      [http.post('/api/prompts', { token, body: { prompt: { prompt: 'x', type: 'image' }, group: { name: 'Bad type' } } }), /./],
      [http.post('/api/prompts', { token, body: { prompt: { prompt: 'x', type: 'text' }, group: { name: 'Bad command', command: 'Not Valid' } } }), /./],
      [http.get('/api/prompts/groups?limit=ten', { token }), /^limit: /],
      [http.get('/api/prompts/groups?limit=10&cursor=bm90LWpzb24', { token }), /^cursor: /],
    ];
    for (const [request, message] of cases) {
      const response = await request;
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.match(response.body.message, message);
    }
    const { group } = await createGroup(token, 'Validated');
    const empty = await http.patch(`/api/prompts/groups/${group._id}`, { token, body: {} });
    assert.equal(empty.status, 400);
    assert.match(empty.body.message, /nothing to update/);
    // Only name, oneliner, category and command may change (LibreChat's strict schema).
    const sneaky = await http.patch(`/api/prompts/groups/${group._id}`, { token, body: { author: mallory.user.id } });
    assert.equal(sneaky.status, 400);
    const badCommand = await http.patch(`/api/prompts/groups/${group._id}`, { token, body: { command: 'UPPER' } });
    assert.equal(badCommand.status, 400);
    assert.match(badCommand.body.message, /^command: /);
    // An id that is not an ObjectId names nothing.
    assert.equal((await http.get('/api/prompts/groups/not-an-id', { token })).status, 404);
    assert.equal((await http.get('/api/prompts/groups')).status, 401);
    assert.equal((await http.post('/api/prompts', { body: { prompt: { prompt: 'x', type: 'text' }, group: { name: 'x' } } })).status, 401);
  });
});

test('the client\'s own request helpers (librechat-data-provider) drive the whole prompt lifecycle', async () => {
  const user = await registerAndLogin(http, 'client-helpers');
  setTokenHeader(user.token);
  const created = await dataService.createPrompt({ prompt: { prompt: 'Summarise: {{text}}', type: 'text' }, group: { name: 'Summary', category: 'write' } });
  const groupId = created.group!._id!;
  assert.equal(created.group!.productionPrompt?.prompt, 'Summarise: {{text}}');
  const added = await dataService.addPromptToGroup(groupId, { prompt: { prompt: 'Summarise briefly: {{text}}', type: 'text' } });
  assert.deepEqual((await dataService.makePromptProduction(added.prompt._id!)).message, 'Prompt production made successfully');
  const page = await dataService.getPromptGroups({ pageSize: 10, category: '', name: 'Summ' });
  assert.deepEqual(page.promptGroups.map((group) => group.productionPrompt?.prompt), ['Summarise briefly: {{text}}']);
  assert.equal((await dataService.getAllPromptGroups()).length, 1);
  assert.equal((await dataService.getPromptGroup(groupId)).name, 'Summary');
  assert.equal((await dataService.updatePromptGroup({ id: groupId, payload: { oneliner: 'Shortens text' } })).oneliner, 'Shortens text');
  assert.equal((await dataService.getPrompts({ groupId })).length, 2);
  assert.deepEqual(await dataService.deletePrompt({ _id: created.prompt._id!, groupId }), { prompt: 'Prompt deleted successfully' });
  assert.deepEqual(await dataService.deletePromptGroup(groupId), { message: 'Prompt group deleted successfully' });
  assert.equal((await dataService.getCategories()).length, 9);
});
