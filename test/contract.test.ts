/**
 * Drift guard against LibreChat's client: the real `librechat-data-provider` request helpers (the code
 * the web client runs) call this server, and its zod schemas check what comes back.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import axios from 'axios';
import { dataService, setTokenHeader, tConversationSchema, tMessageSchema } from 'librechat-data-provider';
import { seedConversation } from './helpers/seed.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

let app: TestApp;

/**
 * LibreChat stores a custom endpoint's own name in `endpoint` (here "demo") with `endpointType: "custom"`,
 * which the client's strict enum for `endpoint` does not list; the rest of the schema applies as is.
 */
const conversationSchema = tConversationSchema.omit({ endpoint: true });
function assertConversation(value: unknown) {
  conversationSchema.parse(value);
  assert.equal((value as { endpoint: string }).endpoint, 'demo');
  assert.equal((value as { endpointType: string }).endpointType, 'custom');
}

beforeAll(async () => {
  app = await startTestApp();
  axios.defaults.baseURL = app.baseUrl;
});
afterAll(async () => {
  await app.close();
  await cleanUpTestData(app.config);
});

test('the client\'s own request helpers work against durachat, and responses parse with its schemas', async () => {
  assert.equal(await dataService.healthCheck(), 'OK');
  const startup = await dataService.getStartupConfig();
  assert.equal(startup.registrationEnabled, true);

  const password = 'contract password';
  await dataService.register({ name: 'Contract', email: 'contract@example.com', password, confirm_password: password } as never);
  const login = await dataService.login({ email: 'contract@example.com', password });
  assert.equal(typeof login.token, 'string');
  setTokenHeader(login.token);

  const user = await dataService.getUser();
  assert.equal(user.email, 'contract@example.com');
  assert.equal(user.id, login.user!.id);
  const role = await dataService.getRole('user');
  assert.equal(role.name, 'USER');

  const endpoints = await dataService.getAIEndpoints();
  assert.equal(endpoints?.demo?.type, 'custom');
  const models = await dataService.getModels();
  assert.deepEqual(models.demo, ['demo-fast', 'demo-slow']);

  const { conversationId, replyId } = await seedConversation(user.id, { endpointType: 'custom' });
  const listed = await dataService.listConversations({ limit: 10 } as never);
  assert.equal(listed.conversations.length, 1);
  assertConversation(listed.conversations[0]);
  const conversation = await dataService.getConversationById(conversationId);
  assertConversation(conversation);

  const messages = await dataService.getMessagesByConvoId(conversationId);
  assert.equal(messages.length, 2);
  for (const message of messages) tMessageSchema.parse(message);

  const updated = await dataService.updateConversation({ conversationId, title: 'Renamed by client' } as never);
  assert.equal((updated as { title: string }).title, 'Renamed by client');
  await dataService.updateMessage({ conversationId, messageId: replyId, text: 'edited by client' } as never);
  const feedback = await dataService.updateFeedback(conversationId, replyId, { feedback: { rating: 'thumbsUp', tag: undefined } } as never);
  assert.equal((feedback as { feedback: { rating: string } }).feedback.rating, 'thumbsUp');
  const afterEdit = await dataService.getMessagesByConvoId(conversationId);
  assert.equal(afterEdit.find((message) => message.messageId === replyId)?.text, 'edited by client');

  const archived = await dataService.archiveConversation({ conversationId, isArchived: true } as never);
  assert.equal((archived as { isArchived: boolean }).isArchived, true);
  await dataService.deleteConversation({ conversationId } as never);
  await assert.rejects(() => dataService.getConversationById(conversationId), (error: { response?: { status: number } }) => error.response?.status === 404);

  // The newest client's generation bookkeeping and the routes it calls at load.
  assert.deepEqual((await dataService.getActiveJobs()).activeJobIds, []);
  assert.deepEqual(await dataService.getFavorites(), []);
  const favorites = await dataService.updateFavorites([{ model: 'demo-fast', endpoint: 'demo' }]);
  assert.deepEqual(favorites, [{ model: 'demo-fast', endpoint: 'demo' }]);

  // User keys through the client's own helpers: set, check, revoke one, revoke all; the value never comes back.
  await dataService.updateUserKey({ name: 'demo', value: 'sk-contract-secret', expiresAt: new Date(Date.now() + 3_600_000).toISOString() } as never);
  const checked = await dataService.userKeyQuery('demo');
  assert.ok(checked.expiresAt && !JSON.stringify(checked).includes('sk-contract-secret'));
  await dataService.revokeUserKey('demo');
  assert.equal((await dataService.userKeyQuery('demo')).expiresAt, null);
  await dataService.updateUserKey({ name: 'demo', value: 'sk-contract-secret', expiresAt: null } as never);
  await dataService.revokeAllUserKeys();
  assert.equal((await dataService.userKeyQuery('demo')).expiresAt, null);
  // Balances are off in the default configuration: the client's helper gets LibreChat's 404.
  await assert.rejects(() => dataService.getUserBalance(), (error: { response?: { status: number } }) => error.response?.status === 404);
});
