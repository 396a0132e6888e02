import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, test } from 'vitest';
import { buildPrompt } from '../activities/chat/build-prompt.ts';
import { MAX_PROMPT_MESSAGES, THREAD_WINDOW_SIZE, mongoMessageStore, type MessageStore } from '../activities/chat/load-thread.ts';
import type { ChatRunInput } from '../shared/chat-run.ts';
import { loadConfig, type Config } from '../shared/config.ts';
import { connectDatabase } from '../shared/database.ts';
import type { ResolvedEndpoint } from '../shared/endpoints-config.ts';
import { Message, ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { cleanUpTestData, testEnvironment } from './helpers/test-app.ts';

const userId = 'prompt-thread-user';
// Only what buildPrompt reads: these types grow fields the prompt does not depend on.
const endpoint = { name: 'demo', type: 'custom', models: ['demo-fast'], maxContextTokens: 1_000_000 } as ResolvedEndpoint;
const tokensPerText = 3;
const countTokens = async (texts: string[]) => texts.map(() => tokensPerText);

let config: Config;

beforeAll(async () => {
  config = loadConfig(testEnvironment());
  await connectDatabase(config.MONGO_URI);
});
afterAll(async () => {
  await cleanUpTestData(config);
});

/** Wraps the real mongoose-backed store and counts what it reads. */
function countingStore() {
  const stats = { queries: 0, documents: 0 };
  const store: MessageStore = {
    async findById(scope, messageId) {
      stats.queries += 1;
      const message = await mongoMessageStore.findById(scope, messageId);
      if (message) stats.documents += 1;
      return message;
    },
    async findWindow(scope, before, limit) {
      stats.queries += 1;
      const window = await mongoMessageStore.findWindow(scope, before, limit);
      stats.documents += window.length;
      return window;
    },
  };
  return { store, stats };
}

function runInput(conversationId: string, leafId: string, overrides: Partial<ChatRunInput> = {}): ChatRunInput {
  return {
    streamId: randomUUID(),
    userId,
    conversationId,
    isNewConversation: false,
    endpoint: 'demo',
    endpointType: 'custom',
    model: 'demo-fast',
    sender: 'Demo',
    parameters: {},
    responseMessageId: randomUUID(),
    responseParentMessageId: leafId,
    generateTitle: false,
    ...overrides,
  } as ChatRunInput;
}

// 100 bytes each: a stored count of 100 tokens is then one a real tokenizer could give (a token covers at
// least a byte), which buildPrompt's byte bound relies on.
const messageText = (branch: number, depth: number) => `branch ${branch} message ${depth} `.padEnd(100, '.');

/**
 * `branches` threads of `length` messages from the root (user at even depths), in one conversation.
 * `interleaved`: the branches' messages alternate in time (the worst case for windows); otherwise one
 * branch was written after the other.
 */
async function seedBranches(options: { branches: number; length: number; interleaved: boolean; tokenCount?: number }) {
  const conversationId = randomUUID();
  const ids = Array.from({ length: options.branches }, () => Array.from({ length: options.length }, () => randomUUID()));
  const start = Date.UTC(2025, 0, 1);
  const documents = [];
  for (let branch = 0; branch < options.branches; branch += 1) {
    for (let depth = 0; depth < options.length; depth += 1) {
      const order = options.interleaved ? depth * options.branches + branch : branch * options.length + depth;
      documents.push({
        messageId: ids[branch]![depth]!,
        conversationId,
        user: userId,
        parentMessageId: depth === 0 ? ROOT_PARENT_MESSAGE_ID : ids[branch]![depth - 1]!,
        sender: depth % 2 === 0 ? 'User' : 'Demo',
        text: messageText(branch, depth),
        isCreatedByUser: depth % 2 === 0,
        tokenCount: options.tokenCount ?? 10,
        createdAt: new Date(start + order * 1000),
        updatedAt: new Date(start + order * 1000),
      });
    }
  }
  await Message.insertMany(documents);
  return { conversationId, ids };
}

const textsOf = (prompt: Array<{ content: string }>) => prompt.map((message) => message.content);
const expectedTexts = (branch: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => messageText(branch, from + index));

/**
 * A thread where every reply was regenerated once: each user message has a discarded reply just before
 * the kept one, so a third of the conversation lies between the thread's messages.
 */
async function seedRegeneratedThread(turns: number) {
  const conversationId = randomUUID();
  const start = Date.UTC(2025, 0, 1);
  const documents = [];
  const thread: string[] = [];
  let parentMessageId = ROOT_PARENT_MESSAGE_ID;
  for (let turn = 0; turn < turns; turn += 1) {
    const [question, discarded, kept] = [randomUUID(), randomUUID(), randomUUID()];
    const at = (offset: number) => new Date(start + (turn * 3 + offset) * 1000);
    documents.push(
      { messageId: question, conversationId, user: userId, parentMessageId, text: `question ${turn}`, isCreatedByUser: true, createdAt: at(0) },
      { messageId: discarded, conversationId, user: userId, parentMessageId: question, text: `discarded ${turn}`, isCreatedByUser: false, createdAt: at(1) },
      { messageId: kept, conversationId, user: userId, parentMessageId: question, text: `answer ${turn}`, isCreatedByUser: false, createdAt: at(2) },
    );
    thread.push(`question ${turn}`, `answer ${turn}`);
    parentMessageId = kept;
  }
  await Message.insertMany(documents);
  return { conversationId, lastQuestionId: documents.at(-3)!.messageId, thread: thread.slice(0, -1) };
}

// FerretDB (SQLite) scans the whole collection for every query: each test keeps only its own data.
afterEach(async () => {
  await Message.deleteMany({});
});

describe('buildPrompt reads only the thread it needs', () => {
  test.each([
    { layout: 'interleaved branches', interleaved: true, maxQueries: 151 + 3 },
    { layout: 'branches written one after another', interleaved: false, maxQueries: 8 },
  ])('2,000 messages in 10 branches ($layout): the prompt is one branch, read with bounded documents', { timeout: 180_000 }, async ({ interleaved, maxQueries }) => {
    const { conversationId, ids } = await seedBranches({ branches: 10, length: 200, interleaved });
    const { store, stats } = countingStore();
    const prompt = await buildPrompt(runInput(conversationId, ids[3]![150]!), endpoint, { countTokens, messageStore: store });
    assert.deepEqual(textsOf(prompt), expectedTexts(3, 0, 150));
    assert.deepEqual(
      prompt.map((message) => message.role),
      prompt.map((_, index) => (index % 2 === 0 ? 'user' : 'assistant')),
    );
    assert.ok(stats.documents <= 151 + 2 * THREAD_WINDOW_SIZE, `read ${stats.documents} documents`);
    assert.ok(stats.queries <= maxQueries, `made ${stats.queries} queries`);
  });

  test('regenerated replies between the thread\'s messages still cost one query per window', async () => {
    const { conversationId, lastQuestionId, thread } = await seedRegeneratedThread(100);
    const { store, stats } = countingStore();
    const prompt = await buildPrompt(runInput(conversationId, lastQuestionId), endpoint, { countTokens, messageStore: store });
    assert.deepEqual(textsOf(prompt), thread);
    assert.ok(stats.documents <= 2 * thread.length + 2 * THREAD_WINDOW_SIZE, `read ${stats.documents} documents`);
    assert.ok(stats.queries <= 2 + Math.ceil(stats.documents / THREAD_WINDOW_SIZE), `made ${stats.queries} queries`);
  });

  test(`a single 2,000-message thread is capped at ${MAX_PROMPT_MESSAGES} messages`, async () => {
    const { conversationId, ids } = await seedBranches({ branches: 1, length: 2000, interleaved: false });
    const { store, stats } = countingStore();
    const prompt = await buildPrompt(runInput(conversationId, ids[0]![1998]!), endpoint, { countTokens, messageStore: store });
    assert.equal(prompt.length, MAX_PROMPT_MESSAGES);
    assert.deepEqual(textsOf(prompt), expectedTexts(0, 1998 - MAX_PROMPT_MESSAGES + 1, 1998));
    assert.ok(stats.documents <= MAX_PROMPT_MESSAGES + THREAD_WINDOW_SIZE, `read ${stats.documents} documents`);
    assert.ok(stats.queries <= 1 + Math.ceil(MAX_PROMPT_MESSAGES / THREAD_WINDOW_SIZE), `made ${stats.queries} queries`);
  });

  test('a new user message that is not saved yet ends the prompt, under the same cap', async () => {
    const { conversationId, ids } = await seedBranches({ branches: 1, length: 2000, interleaved: false });
    const { store, stats } = countingStore();
    const userMessage = { messageId: randomUUID(), parentMessageId: ids[0]![1999]!, text: 'the newest question' };
    const prompt = await buildPrompt(runInput(conversationId, userMessage.messageId, { userMessage }), endpoint, { countTokens, messageStore: store });
    assert.equal(prompt.length, MAX_PROMPT_MESSAGES);
    assert.deepEqual(textsOf(prompt), [...expectedTexts(0, 2000 - MAX_PROMPT_MESSAGES + 1, 1999), 'the newest question']);
    assert.ok(stats.documents <= MAX_PROMPT_MESSAGES + THREAD_WINDOW_SIZE, `read ${stats.documents} documents`);
  });

  test('stops reading once the stored token counts exceed the context budget', async () => {
    const { conversationId, ids } = await seedBranches({ branches: 1, length: 500, interleaved: false, tokenCount: 100 });
    const { store, stats } = countingStore();
    // Budget 2,000 tokens: 21 stored messages already exceed it; trimming then keeps what fits.
    const input = runInput(conversationId, ids[0]![498]!, { parameters: { maxContextTokens: 3000, maxOutputTokens: 1000 } });
    const prompt = await buildPrompt(input, endpoint, { countTokens: async (texts) => texts.map(() => 100), messageStore: store });
    assert.equal(prompt.length, Math.floor(2000 / 104));
    assert.equal(prompt.at(-1)!.content, messageText(0, 498));
    assert.ok(stats.documents <= 21 + THREAD_WINDOW_SIZE, `read ${stats.documents} documents`);
  });

  test('a thread whose bytes fit the budget is not sent to the tokenizer pool (time to first token)', async () => {
    const first = { messageId: randomUUID(), parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'short question' };
    const refuse = async (): Promise<number[]> => {
      throw new Error('the tokenizer was asked');
    };
    const prompt = await buildPrompt(runInput(randomUUID(), first.messageId, { isNewConversation: true, userMessage: first }), endpoint, { countTokens: refuse });
    assert.deepEqual(prompt.map((message) => message.content), ['short question']);
  });

  test('a new conversation reads nothing; error replies and other users\' messages stay out', async () => {
    const { store, stats } = countingStore();
    const first = { messageId: randomUUID(), parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'hello' };
    const prompt = await buildPrompt(runInput(randomUUID(), first.messageId, { isNewConversation: true, userMessage: first }), endpoint, { countTokens, messageStore: store });
    assert.deepEqual(prompt, [{ role: 'user', content: 'hello' }]);
    assert.equal(stats.queries, 0);

    const conversationId = randomUUID();
    const [question, failed, retry] = [randomUUID(), randomUUID(), randomUUID()];
    await Message.insertMany([
      { messageId: question, conversationId, user: userId, parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'question', isCreatedByUser: true },
      { messageId: failed, conversationId, user: userId, parentMessageId: question, text: 'provider error', isCreatedByUser: false, error: true },
      { messageId: retry, conversationId, user: userId, parentMessageId: failed, text: 'again', isCreatedByUser: true },
    ]);
    const withError = await buildPrompt(runInput(conversationId, retry), endpoint, { countTokens });
    assert.deepEqual(textsOf(withError), ['question', 'again']);

    await assert.rejects(buildPrompt(runInput(conversationId, retry, { userId: 'someone-else' }), endpoint, { countTokens }), /was not found/);
  });
});
