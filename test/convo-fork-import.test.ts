/**
 * `POST /api/convos/{fork,duplicate,import}` as LibreChat's server answers them (`api/server/routes/convos.js`,
 * `api/server/utils/import/`): copies get new ids with their tree intact, imports read LibreChat, ChatGPT and
 * chatbot-ui exports (fixtures under test/fixtures/imports/), and a bad file is refused with a clear 400.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import axios from 'axios';
import { dataService, setTokenHeader, tConversationSchema, tMessageSchema, type TDuplicateConvoResponse, type TForkConvoResponse, type TImportResponse } from 'librechat-data-provider';
import { Conversation, Message, ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
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

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'fixtures', 'imports', name), 'utf8');

type Row = { messageId: string; parentMessageId: string; text: string; [field: string]: unknown };

/** The tree as `text <- parent text` lines, sorted: what a copy must keep whatever its ids. */
function shape(messages: Row[]): string[] {
  const byId = new Map(messages.map((message) => [message.messageId, message]));
  return messages
    .map((message) => `${message.text} <- ${message.parentMessageId === ROOT_PARENT_MESSAGE_ID ? 'ROOT' : (byId.get(message.parentMessageId)?.text ?? `MISSING ${message.parentMessageId}`)}`)
    .sort();
}

/**
 * U1 ─┬─ A1                      level 0: U1, U1e
 *     └─ A1b ── U2 ─┬─ A2        level 1: A1, A1b, A1e
 *                   └─ A2b ── U3 level 2: U2; level 3: A2, A2b; level 4: U3
 * U1e ── A1e  (the first message, edited)
 */
async function seedTree(userId: string) {
  const conversationId = randomUUID();
  await Conversation.create({ conversationId, user: userId, title: 'Branchy', endpoint: 'demo', model: 'demo-fast', temperature: 0.3, tags: ['work'] });
  const ids: Record<string, string> = {};
  const links: Array<[name: string, parent: string | null]> = [
    ['U1', null],
    ['A1', 'U1'],
    ['A1b', 'U1'],
    ['U2', 'A1b'],
    ['A2', 'U2'],
    ['A2b', 'U2'],
    ['U3', 'A2b'],
    ['U1e', null],
    ['A1e', 'U1e'],
  ];
  const start = Date.now() - 60_000;
  const documents = links.map(([name, parent], index) => {
    ids[name] = randomUUID();
    return {
      messageId: ids[name],
      conversationId,
      user: userId,
      parentMessageId: parent ? ids[parent] : ROOT_PARENT_MESSAGE_ID,
      text: name,
      sender: name.startsWith('U') ? 'User' : 'Demo',
      isCreatedByUser: name.startsWith('U'),
      ...(name.startsWith('A') ? { model: 'demo-fast', endpoint: 'demo', content: [{ type: 'text', text: name }] } : {}),
      createdAt: new Date(start + index * 1000),
      updatedAt: new Date(start + index * 1000),
    };
  });
  await Message.insertMany(documents, { timestamps: false });
  return { conversationId, ids };
}

async function storedMessages(userId: string, conversationId: string) {
  return Message.find({ user: userId, conversationId }).sort({ createdAt: 1 }).lean<Row[]>();
}

function assertFreshCopy(original: { conversationId: string; ids: Record<string, string> }, copy: TForkConvoResponse) {
  assert.notEqual(copy.conversation.conversationId, original.conversationId);
  const oldIds = new Set(Object.values(original.ids));
  for (const message of copy.messages) {
    assert.equal(message.conversationId, copy.conversation.conversationId);
    assert.equal(oldIds.has(message.messageId), false, 'a copied message keeps its old id');
    assert.equal(oldIds.has(message.parentMessageId!), false, 'a copied message points at the original');
  }
}

describe('POST /api/convos/fork', () => {
  const cases: Array<[option: string, expected: string[]]> = [
    ['directPath', ['U1 <- ROOT', 'A1b <- U1', 'U2 <- A1b', 'A2b <- U2']],
    ['includeBranches', ['U1 <- ROOT', 'A1 <- U1', 'A1b <- U1', 'U2 <- A1b', 'A2 <- U2', 'A2b <- U2']],
    ['targetLevel', ['U1 <- ROOT', 'U1e <- ROOT', 'A1 <- U1', 'A1b <- U1', 'A1e <- U1e', 'U2 <- A1b', 'A2 <- U2', 'A2b <- U2']],
  ];
  for (const [option, expected] of cases) {
    test(`option ${option} copies LibreChat's branch selection with new ids`, async () => {
      const seeded = await seedTree(alice.user.id);
      const response = await http.post<TForkConvoResponse>('/api/convos/fork', {
        token: alice.token,
        body: { conversationId: seeded.conversationId, messageId: seeded.ids.A2b, option, splitAtTarget: false },
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(shape(response.body.messages as Row[]), [...expected].sort());
      assertFreshCopy(seeded, response.body);
      const { conversation } = response.body;
      assert.equal(conversation.title, 'Branchy');
      assert.equal(conversation.endpoint, 'demo');
      assert.equal(conversation.model, 'demo-fast');
      assert.equal(conversation.temperature, 0.3);
      assert.equal(conversation.user, alice.user.id);
      assert.equal((conversation as Record<string, unknown>)._id, undefined);
      // Stored as answered, readable through the messages route, and the original is untouched.
      assert.deepEqual(shape(await storedMessages(alice.user.id, conversation.conversationId!)), [...expected].sort());
      const listed = await http.get(`/api/messages/${conversation.conversationId}`, { token: alice.token });
      assert.equal(listed.status, 200);
      assert.equal((await storedMessages(alice.user.id, seeded.conversationId)).length, 9);
      // Parents come before their children in time, as the client rebuilds the tree by createdAt.
      const created = new Map(response.body.messages.map((message) => [message.messageId, new Date(message.createdAt!).getTime()]));
      for (const message of response.body.messages) {
        if (message.parentMessageId !== ROOT_PARENT_MESSAGE_ID) assert.ok(created.get(message.messageId)! > created.get(message.parentMessageId!)!);
      }
    });
  }

  test('no option is the target level, as in LibreChat', async () => {
    const seeded = await seedTree(alice.user.id);
    const response = await http.post<TForkConvoResponse>('/api/convos/fork', { token: alice.token, body: { conversationId: seeded.conversationId, messageId: seeded.ids.A1b } });
    assert.equal(response.status, 200);
    assert.deepEqual(shape(response.body.messages as Row[]), ['A1 <- U1', 'A1b <- U1', 'A1e <- U1e', 'U1 <- ROOT', 'U1e <- ROOT']);
  });

  test('splitAtTarget starts the copy at the target\'s level and follows latestMessageId', async () => {
    const seeded = await seedTree(alice.user.id);
    const response = await http.post<TForkConvoResponse>('/api/convos/fork', {
      token: alice.token,
      body: { conversationId: seeded.conversationId, messageId: seeded.ids.U2, option: 'directPath', splitAtTarget: true, latestMessageId: seeded.ids.U3 },
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(shape(response.body.messages as Row[]), ['A2b <- U2', 'U2 <- ROOT', 'U3 <- A2b']);

    const missing = await http.post('/api/convos/fork', { token: alice.token, body: { conversationId: seeded.conversationId, messageId: seeded.ids.U2, splitAtTarget: true } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /^latestMessageId: /);
  });

  test('refuses an unknown message, a bad option and another user\'s conversation', async () => {
    const seeded = await seedTree(alice.user.id);
    const unknown = await http.post('/api/convos/fork', { token: alice.token, body: { conversationId: seeded.conversationId, messageId: randomUUID() } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message, 'Message not found');
    const badOption = await http.post('/api/convos/fork', { token: alice.token, body: { conversationId: seeded.conversationId, messageId: seeded.ids.U1, option: 'everything' } });
    assert.equal(badOption.status, 400);
    assert.match(badOption.body.message, /^option: /);
    const stolen = await http.post('/api/convos/fork', { token: mallory.token, body: { conversationId: seeded.conversationId, messageId: seeded.ids.A2b, option: 'directPath' } });
    assert.equal(stolen.status, 404);
    assert.equal(stolen.body.message, 'Conversation not found');
    assert.equal(await Conversation.countDocuments({ user: mallory.user.id }), 0);
    assert.equal((await http.post('/api/convos/fork', { body: { conversationId: seeded.conversationId, messageId: seeded.ids.U1 } })).status, 401);
  });
});

describe('POST /api/convos/duplicate', () => {
  test('copies every message with new ids and parents remapped, answering 201', async () => {
    const seeded = await seedTree(alice.user.id);
    const response = await http.post<TDuplicateConvoResponse>('/api/convos/duplicate', { token: alice.token, body: { conversationId: seeded.conversationId, title: 'Branchy (copy)' } });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.conversation.title, 'Branchy (copy)');
    assert.deepEqual(response.body.conversation.tags ?? [], []);
    assert.equal(response.body.messages.length, 9);
    assert.deepEqual(shape(response.body.messages as Row[]), shape(await storedMessages(alice.user.id, seeded.conversationId)));
    assertFreshCopy(seeded, response.body);
    const a2b = response.body.messages.find((message) => message.text === 'A2b')!;
    assert.deepEqual(a2b.content, [{ type: 'text', text: 'A2b' }]);
    assert.equal(a2b.isCreatedByUser, false);
    assert.equal(a2b.sender, 'Demo');

    const untitled = await http.post<TDuplicateConvoResponse>('/api/convos/duplicate', { token: alice.token, body: { conversationId: seeded.conversationId } });
    assert.equal(untitled.body.conversation.title, 'Branchy');
  });

  test('another user\'s conversation answers 404 and nothing is copied', async () => {
    const seeded = await seedTree(alice.user.id);
    const response = await http.post('/api/convos/duplicate', { token: mallory.token, body: { conversationId: seeded.conversationId } });
    assert.equal(response.status, 404);
    assert.equal(await Message.countDocuments({ user: mallory.user.id }), 0);
    assert.equal((await http.post('/api/convos/duplicate', { token: alice.token, body: {} })).status, 400);
  });
});

async function upload(token: string | undefined, content: string, filename = 'export.json', type = 'application/json', base = app.baseUrl) {
  const form = new FormData();
  form.append('file', new Blob([content], { type }), filename);
  const response = await fetch(`${base}/api/convos/import`, { method: 'POST', body: form, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as TImportResponse & { message: string } };
}

async function importedConversations(userId: string) {
  const conversations = await Conversation.find({ user: userId }).sort({ createdAt: 1 }).lean<Array<Record<string, unknown> & { conversationId: string }>>();
  return Promise.all(conversations.map(async (conversation) => ({ conversation, messages: await storedMessages(userId, conversation.conversationId) })));
}

describe('POST /api/convos/import', () => {
  test('a LibreChat export (recursive tree with branches) keeps its tree, settings and content', async () => {
    const user = await registerAndLogin(http, 'librechat-import');
    const response = await upload(user.token, fixture('librechat-export.json'));
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.deepEqual(response.body, { message: 'Conversation(s) imported successfully' });
    const [imported, ...rest] = await importedConversations(user.user.id);
    assert.equal(rest.length, 0);
    const { conversation, messages } = imported!;
    assert.equal(conversation.title, 'Packing for a weekend hike');
    assert.notEqual(conversation.conversationId, '5d1c0b7e-3f7a-4d0e-9a51-6f5e2b8c9a10');
    assert.equal(conversation.promptPrefix, 'You are a careful outdoor guide.');
    assert.equal(conversation.temperature, 0.7);
    // `openAI` is not configured here: the import lands on the deployment's endpoint and model.
    assert.equal(conversation.endpoint, 'demo');
    assert.equal(conversation.model, 'demo-fast');
    assert.equal(new Date(conversation.createdAt as string).toISOString(), '2024-05-24T09:00:00.000Z');
    const pack = 'Pack light: base layer, fleece, shell, hut sleeping bag liner, snacks, first-aid kit.';
    const question = 'What should I pack for a two-day hike in the Alps?';
    assert.deepEqual(shape(messages), [
      `${pack} <- ${question}`,
      'Do I need a sleeping bag liner in huts? <- ' + pack,
      `Layers, a rain jacket, two litres of water and a map. <- ${question}`,
      `${question} <- ROOT`,
      'Yes, most Alpine Club huts require one. <- Do I need a sleeping bag liner in huts?',
    ].sort());
    for (const message of messages) {
      assert.equal(message.user, user.user.id);
      assert.equal(message.conversationId, conversation.conversationId);
      assert.ok(!String(message.messageId).startsWith('a1a1a1a1'), 'imported messages get new ids');
    }
    const packed = messages.find((message) => message.text === pack)!;
    assert.deepEqual(packed.content, [{ type: 'text', text: pack }]);
    assert.equal(packed.sender, 'GPT-4o-mini');
    assert.equal(messages.find((message) => message.text === question)!.isCreatedByUser, true);
    // The client reads it like any other conversation.
    const listed = await http.get<Row[]>(`/api/messages/${conversation.conversationId}`, { token: user.token });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.length, 5);
  });

  test('a flat LibreChat export (messages with parent links) keeps its tree', async () => {
    const user = await registerAndLogin(http, 'librechat-flat');
    const root = randomUUID();
    const reply = randomUUID();
    const exported = {
      conversationId: randomUUID(),
      title: 'Flat export',
      endpoint: 'demo',
      options: { model: 'demo-slow' },
      messages: [
        { messageId: reply, parentMessageId: root, text: 'Hi!', isCreatedByUser: false, sender: 'Demo', createdAt: '2024-06-01T10:00:01.000Z' },
        { messageId: root, parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'Hello', isCreatedByUser: true, sender: 'User', createdAt: '2024-06-01T10:00:00.000Z' },
      ],
    };
    const response = await upload(user.token, JSON.stringify(exported), 'flat.json');
    assert.equal(response.status, 201, JSON.stringify(response.body));
    const [imported] = await importedConversations(user.user.id);
    assert.equal(imported!.conversation.model, 'demo-slow');
    assert.deepEqual(shape(imported!.messages), ['Hello <- ROOT', 'Hi! <- Hello']);
  });

  test('a ChatGPT conversations.json keeps its mapping tree, skips system and reasoning nodes, folds thoughts in', async () => {
    const user = await registerAndLogin(http, 'chatgpt-import');
    const response = await upload(user.token, fixture('chatgpt-conversations.json'), 'conversations.json');
    assert.equal(response.status, 201, JSON.stringify(response.body));
    const imported = await importedConversations(user.user.id);
    assert.deepEqual(imported.map(({ conversation }) => conversation.title), ['Feeding a sourdough starter', 'Quick arithmetic']);
    const [sourdough, arithmetic] = imported;
    assert.equal(new Date(sourdough!.conversation.createdAt as string).getTime(), 1716540000123);
    assert.deepEqual(shape(sourdough!.messages), [
      '```python\nlog = [(\'2024-05-24\', 50, 50)]\n``` <- Show me a feeding log in Python',
      'Discard half, then add equal weights of flour and water. <- How do I feed a sourdough starter?',
      'How do I feed a sourdough starter? <- ROOT',
      'How often should I feed a sourdough starter? <- ROOT',
      'Once a day at room temperature, once a week in the fridge. <- How often should I feed a sourdough starter?',
      'Show me a feeding log in Python <- Once a day at room temperature, once a week in the fridge.',
    ].sort());
    const reasoned = sourdough!.messages.find((message) => message.text.startsWith('Discard half'))!;
    assert.deepEqual(reasoned.content, [
      { type: 'think', think: 'A 1:1:1 feeding by weight is the usual advice.' },
      { type: 'text', text: 'Discard half, then add equal weights of flour and water.' },
    ]);
    assert.equal(reasoned.sender, 'o3');
    assert.equal(reasoned.isCreatedByUser, false);
    assert.equal(sourdough!.messages.find((message) => message.text.startsWith('Once a day'))!.sender, 'GPT-4o');
    assert.equal(sourdough!.messages.find((message) => message.text.startsWith('How do I'))!.isCreatedByUser, true);
    assert.equal(new Date(sourdough!.messages.find((message) => message.text.startsWith('How do I'))!.createdAt as string).getTime(), 1716540001500);
    assert.deepEqual(shape(arithmetic!.messages), ['17 * 23 = 391 <- What is 17 * 23?', 'What is 17 * 23? <- ROOT']);
    for (const { conversation } of imported) assert.equal(conversation.endpoint, 'demo');
  });

  test('a chatbot-ui export becomes one conversation per history item, as a straight line', async () => {
    const user = await registerAndLogin(http, 'chatbot-ui-import');
    const response = await upload(user.token, fixture('chatbot-ui-export.json'), 'chatbot_ui_history.json');
    assert.equal(response.status, 201, JSON.stringify(response.body));
    const imported = await importedConversations(user.user.id);
    const byTitle = new Map(imported.map((item) => [item.conversation.title, item]));
    assert.deepEqual([...byTitle.keys()].sort(), ['Haiku', 'Regex for dates']);
    assert.deepEqual(shape(byTitle.get('Regex for dates')!.messages), [
      'Add `T\\d{2}:\\d{2}(:\\d{2})?` after the date part. <- And with times?',
      'And with times? <- Try `^\\d{4}-\\d{2}-\\d{2}$`.',
      'Give me a regex for ISO dates <- ROOT',
      'Try `^\\d{4}-\\d{2}-\\d{2}$`. <- Give me a regex for ISO dates',
    ]);
    const haiku = byTitle.get('Haiku')!.messages;
    assert.deepEqual(haiku.map((message) => message.isCreatedByUser), [true, false]);
  });

  test('a Claude conversations.json becomes straight lines, with thinking folded into the reply', async () => {
    const user = await registerAndLogin(http, 'claude-import');
    const response = await upload(user.token, fixture('claude-conversations.json'), 'conversations.json');
    assert.equal(response.status, 201, JSON.stringify(response.body));
    const [imported, ...rest] = await importedConversations(user.user.id);
    assert.equal(rest.length, 0);
    assert.equal(imported!.conversation.title, 'Naming a cat');
    assert.equal(new Date(imported!.conversation.createdAt as string).toISOString(), '2025-02-03T08:00:00.000Z');
    assert.deepEqual(shape(imported!.messages), [
      'Suggest a name for a grey cat <- ROOT',
      'How about "Smoke"? <- Suggest a name for a grey cat',
      'Something longer? <- How about "Smoke"?',
      'Sir Reginald Ashworth. <- Something longer?',
    ].sort());
    const reply = imported!.messages.find((message) => message.text === 'How about "Smoke"?')!;
    assert.deepEqual(reply.content, [{ type: 'think', think: 'Grey suggests ash or smoke.' }, { type: 'text', text: 'How about "Smoke"?' }]);
    assert.equal(reply.sender, 'Claude');
  });

  test('malformed and unknown files are refused with 400 and a message saying why; nothing is saved', async () => {
    const user = await registerAndLogin(http, 'bad-import');
    const cases: Array<[content: string, filename: string, type: string, message: RegExp]> = [
      ['{"conversationId": "x", "messages": [', 'broken.json', 'application/json', /not valid JSON/],
      ['{"hello": "world"}', 'other.json', 'application/json', /Unsupported import format: expected a LibreChat conversation export, a ChatGPT or Claude conversations.json or a chatbot-ui export/],
      ['[{"title": "t", "mapping": {"n1": {"message": {"content": {"content_type": "text", "parts": ["hi"]}}, "parent": null}}}]', 'conversations.json', 'application/json', /ChatGPT export but is malformed at 0\.mapping\.n1\.message\.author/],
      ['{"version": 4, "history": [{"name": "x", "messages": [{"role": "user"}]}]}', 'chatbot.json', 'application/json', /chatbot-ui export but is malformed at history\.0\.messages\.0\.content/],
      ['{"conversationId": "x", "messages": [{"text": "no id"}]}', 'librechat.json', 'application/json', /LibreChat export but is malformed at messages\.0\.messageId/],
      ['{"conversationId": "x", "messages": []}', 'empty.json', 'application/json', /contains no messages|no conversations/],
      ['hello', 'notes.txt', 'text/plain', /^file: only JSON files are allowed/],
    ];
    for (const [content, filename, type, message] of cases) {
      const response = await upload(user.token, content, filename, type);
      assert.equal(response.status, 400, `${filename}: ${JSON.stringify(response.body)}`);
      assert.match(response.body.message, message, filename);
    }
    const notMultipart = await http.post('/api/convos/import', { token: user.token, body: { file: '{}' } });
    assert.equal(notMultipart.status, 400);
    assert.match(notMultipart.body.message, /multipart\/form-data/);
    assert.equal(await Conversation.countDocuments({ user: user.user.id }), 0);
    assert.equal(await Message.countDocuments({ user: user.user.id }), 0);
    assert.equal((await upload(undefined, fixture('librechat-export.json'))).status, 401);
  });

  test('an upload over the size bound answers 413 without being read on; /api/config tells the client the bound', async () => {
    assert.equal((await http.get('/api/config')).body.conversationImportMaxFileSize, 20 * 1024 * 1024);
    const small = await startTestApp({ CONVERSATION_IMPORT_MAX_FILE_SIZE_BYTES: '1024' });
    try {
      assert.equal((await createHttpClient(small.baseUrl).get('/api/config')).body.conversationImportMaxFileSize, 1024);
      const user = await registerAndLogin(createHttpClient(small.baseUrl), 'big-import');
      const response = await upload(user.token, fixture('librechat-export.json'), 'export.json', 'application/json', small.baseUrl);
      assert.equal(response.status, 413);
      assert.equal(response.body.message, 'File exceeds the maximum allowed size');
      assert.equal(await Conversation.countDocuments({ user: user.user.id }), 0);
    } finally {
      await small.close();
    }
  });
});

test('the client\'s own request helpers (librechat-data-provider) fork, duplicate and import; answers parse with its schemas', async () => {
  const user = await registerAndLogin(http, 'client-helpers');
  setTokenHeader(user.token);
  const seeded = await seedTree(user.user.id);
  await Conversation.updateOne({ user: user.user.id, conversationId: seeded.conversationId }, { $set: { endpointType: 'custom' } });
  // A custom endpoint's own name ("demo") is not in the client's strict enum for `endpoint`.
  const conversationSchema = tConversationSchema.omit({ endpoint: true });
  const forked = await dataService.forkConversation({ conversationId: seeded.conversationId, messageId: seeded.ids.A2b!, option: 'directPath', splitAtTarget: false });
  conversationSchema.parse(forked.conversation);
  assert.equal(forked.conversation.endpointType, 'custom');
  for (const message of forked.messages) tMessageSchema.parse(message);
  assert.equal(forked.messages.length, 4);
  const duplicated = await dataService.duplicateConversation({ conversationId: seeded.conversationId });
  conversationSchema.parse(duplicated.conversation);
  assert.equal(duplicated.messages.length, 9);
  const form = new FormData();
  form.append('file', new Blob([fixture('chatbot-ui-export.json')], { type: 'application/json' }), 'chatbot_ui_history.json');
  assert.deepEqual(await dataService.importConversationsFile(form), { message: 'Conversation(s) imported successfully' });
  const imported = await Conversation.findOne({ user: user.user.id, title: 'Haiku' }).lean<Record<string, unknown>>();
  assert.equal(imported?.endpointType, 'custom');
});
