/**
 * Token accounting as LibreChat does it: balances created with startBalance, charged once per run from the
 * provider's usage (or the tokenizer when it reports none) whatever retries, repeated closes or aborts
 * happened, refused at zero with LibreChat's `token_balance` error, refilled when due; and nothing of it
 * when `balance.enabled` is false.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadBalanceConfig, type BalanceConfig } from '../shared/balance-config.ts';
import { recordTransaction, refillIfDue, type BalanceDocument } from '../shared/balance-ledger.ts';
import type { ChatRunInput } from '../shared/chat-run.ts';
import { closeRun } from '../shared/close-run.ts';
import { Balance, Message, ROOT_PARENT_MESSAGE_ID, Transaction } from '../shared/models/index.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { createRunRegistry } from '../shared/run-registry.ts';
import type { UsageEvent } from '../shared/run-events.ts';
import { readEvents } from '../shared/run-stream.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData, testRunId } from './helpers/test-app.ts';

const START = 1_000_000;
const demoEndpoint = ['endpoints:', '  custom:', '    - name: demo', '      apiKey: demo', '      baseURL: ${DEMO_PROVIDER_URL}', '      models:', '        default: [demo-fast, demo-slow]', '      titleConvo: false', '      modelDisplayLabel: Demo'];

// The same server with titles on: a title is a model call, charged like a reply.
const titledEndpoint = ['    - name: demo-titled', '      apiKey: demo', '      baseURL: ${DEMO_PROVIDER_URL}', '      models:', '        default: [demo-fast]', '      titleConvo: true', '      modelDisplayLabel: Demo'];

function writeConfig(name: string, balanceLines: string[]): string {
  const file = path.join(process.env.DATA_DIR ?? '.data/test', `balance-${name}-${testRunId}.yaml`);
  writeFileSync(file, [...demoEndpoint, ...titledEndpoint, ...balanceLines, ''].join('\n'));
  return file;
}

type Login = Awaited<ReturnType<typeof registerAndLogin>>;

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function chatOn(stack: ChatStack, login: Login, body: Record<string, unknown>, options: Partial<Parameters<typeof requestSse>[1]> = {}) {
  return requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, { method: 'POST', token: login.token, body: { endpoint: 'demo', model: 'demo-fast', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, ...body }, ...options });
}

async function transactionsOf(runId: string) {
  return Transaction.find({ runId }).sort({ tokenType: 1 }).lean<Array<Record<string, any>>>();
}

async function creditsOf(userId: string): Promise<number> {
  return ((await Balance.findOne({ user: userId }).lean<BalanceDocument>()) as BalanceDocument).tokenCredits;
}

describe('balance enabled', () => {
  let stack: ChatStack;
  let http: HttpClient;
  let redis: Redis;
  let balance: BalanceConfig;

  beforeAll(async () => {
    const configPath = writeConfig('on', [
      'balance:',
      '  enabled: true',
      `  startBalance: ${START}`,
      '  autoRefillEnabled: true',
      '  refillIntervalValue: 1',
      '  refillIntervalUnit: hours',
      '  refillAmount: 5000',
      '  tokenValues:',
      '    demo-fast: { prompt: 1, completion: 2 }',
    ]);
    stack = await startChatStack({ overrides: { CONFIG_PATH: configPath, CHAT_STREAM_FLUSH_MS: '0' } });
    http = createHttpClient(stack.app.baseUrl);
    redis = new Redis(stack.app.config.REDIS_URI);
    balance = loadBalanceConfig(stack.app.config);
  });
  afterAll(async () => {
    await redis?.quit();
    await stack?.close();
  });

  async function usageEvents(streamId: string): Promise<UsageEvent[]> {
    const items = await readEvents(redis, createRedisKeys(stack.app.config.REDIS_KEY_PREFIX).chatStream(streamId));
    return items.map((item) => item.event).filter((event): event is UsageEvent => event.type === 'usage');
  }

  test('/api/config reports the balance config and GET /api/balance answers in LibreChat\'s shape', async () => {
    const config = await http.get('/api/config');
    assert.deepEqual(config.body.balance, { enabled: true, startBalance: START, autoRefillEnabled: true, refillIntervalValue: 1, refillIntervalUnit: 'hours', refillAmount: 5000 });
    const user = await registerAndLogin(http, 'balance-shape');
    const response = await http.get('/api/balance', { token: user.token });
    assert.equal(response.status, 200);
    assert.deepEqual(Object.keys(response.body).sort(), ['autoRefillEnabled', 'lastRefill', 'refillAmount', 'refillIntervalUnit', 'refillIntervalValue', 'tokenCredits']);
    assert.equal(response.body.tokenCredits, START);
    assert.equal(response.body.autoRefillEnabled, true);
    assert.equal(response.body.refillIntervalUnit, 'hours');
    assert.equal((await http.get('/api/balance')).status, 401);
  });

  test('a run retried after a 429 is charged once, from the provider\'s reported usage; closing it again charges nothing', async () => {
    const user = await registerAndLogin(http, 'balance-retry');
    const result = await chatOn(stack, user, { text: `Retry me [fail=429 times=1 key=${randomUUID()}] [tokens=20]` });
    const final = finalEvent(result.events);
    assert.ok(final?.data.responseMessage, JSON.stringify(result.events.at(-1)));
    const { streamId } = result.events[0]!.data;
    const [usage] = (await usageEvents(streamId)).slice(-1);
    assert.ok(usage, 'the provider reported usage');

    const [completion, prompt] = await transactionsOf(streamId);
    assert.equal((await transactionsOf(streamId)).length, 2);
    assert.deepEqual(
      { tokenType: prompt!.tokenType, rawAmount: prompt!.rawAmount, rate: prompt!.rate, tokenValue: prompt!.tokenValue, context: prompt!.context, source: prompt!.source, model: prompt!.model },
      { tokenType: 'prompt', rawAmount: -usage.inputTokens, rate: 1, tokenValue: -usage.inputTokens, context: 'message', source: 'usage', model: 'demo-fast' },
    );
    assert.deepEqual(
      { tokenType: completion!.tokenType, rawAmount: completion!.rawAmount, rate: completion!.rate, tokenValue: completion!.tokenValue },
      { tokenType: 'completion', rawAmount: -usage.outputTokens, rate: 2, tokenValue: -2 * usage.outputTokens },
    );
    const charged = START - usage.inputTokens - 2 * usage.outputTokens;
    assert.equal(await creditsOf(user.user.id), charged);
    assert.equal((await http.get('/api/balance', { token: user.token })).body.tokenCredits, charged);

    // finishRun retried (or the sweeper closing it too): the same close, twice more, charges nothing.
    const temporal = createTemporalClient(stack.app.config.TEMPORAL_ADDRESS, stack.app.config.TEMPORAL_NAMESPACE);
    try {
      const history = await temporal.client.workflow.getHandle(`chat-${result.events[0]!.data.responseMessageId}`).fetchHistory();
      const input = defaultPayloadConverter.fromPayload<ChatRunInput>(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
      const keys = createRedisKeys(stack.app.config.REDIS_KEY_PREFIX);
      const deps = { redis, keys, runs: createRunRegistry(redis, keys, { ttlSeconds: stack.app.config.CHAT_STREAM_TTL_SECONDS }), streamTtlSeconds: stack.app.config.CHAT_STREAM_TTL_SECONDS, balance };
      await closeRun(deps, input, { status: 'completed', finishReason: 'stop' }, { requestSaved: true });
      await closeRun(deps, input, { status: 'error', errorMessage: 'swept' }, { requestSaved: true });
    } finally {
      await temporal.connection.close();
    }
    assert.equal((await transactionsOf(streamId)).length, 2);
    assert.equal(await creditsOf(user.user.id), charged);
  });

  test('a title is charged once, as its own prompt and completion transactions with context title', async () => {
    const user = await registerAndLogin(http, 'balance-title');
    const result = await chatOn(stack, user, { endpoint: 'demo-titled', text: 'Name this chat [tokens=10]' });
    assert.ok(finalEvent(result.events)?.data.responseMessage, JSON.stringify(result.events.at(-1)));
    const { streamId } = result.events[0]!.data;
    const titleCharges = await until('the title charge', async () => ((await transactionsOf(`title-${streamId}`)).length === 2 ? transactionsOf(`title-${streamId}`) : undefined));
    const [completion, prompt] = titleCharges;
    for (const transaction of titleCharges) {
      assert.equal(transaction!.context, 'title');
      assert.equal(transaction!.source, 'usage', 'the provider reported the title call\'s usage');
      assert.ok(transaction!.rawAmount < 0, JSON.stringify(transaction));
    }
    assert.equal(prompt!.tokenValue, prompt!.rawAmount * 1);
    assert.equal(completion!.tokenValue, completion!.rawAmount * 2);
    const reply = await until('the reply charge', async () => ((await transactionsOf(streamId)).length === 2 ? transactionsOf(streamId) : undefined));
    const spent = [...titleCharges, ...reply].reduce((total, transaction) => total + transaction!.tokenValue, 0);
    assert.equal(await creditsOf(user.user.id), START + spent);
  });

  test('a charge interrupted after the balance update (a crash) is not applied again by the retry', async () => {
    const user = await registerAndLogin(http, 'balance-crash');
    await http.get('/api/balance', { token: user.token });
    const runId = `crash-${randomUUID()}`;
    const document = { user: user.user.id, runId, tokenType: 'completion', rawAmount: -100, rate: 2, tokenValue: -200, context: 'message' };
    // Steps 1 and 2 of a charge, as if the process died right after them.
    const inserted = await Transaction.create({ ...document, applied: false });
    await Balance.updateOne({ user: user.user.id }, { $inc: { tokenCredits: -200 }, $push: { pendingCharges: String(inserted._id) } });
    await recordTransaction(document);
    await recordTransaction(document);
    assert.equal(await creditsOf(user.user.id), START - 200);
    const stored = await Transaction.findOne({ runId }).lean<Record<string, any>>();
    assert.equal(stored!.applied, true);
    assert.deepEqual((await Balance.findOne({ user: user.user.id }).lean<Record<string, any>>())!.pendingCharges, []);
  });

  test('an aborted run is charged once for the partial reply (tokenizer count, LibreChat\'s cancel rate)', async () => {
    const user = await registerAndLogin(http, 'balance-abort');
    const started = await chatOn(stack, user, { text: 'Abort me [tokens=300 rate=30]' }, { disconnectWhen: (_event, events) => events.filter((candidate) => candidate.data?.event === 'on_message_delta').length === 5 });
    const { streamId, conversationId } = started.events[0]!.data;
    const aborted = await http.post('/api/agents/chat/abort', { token: user.token, body: { conversationId } });
    assert.equal(aborted.status, 200);
    const replay = await requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: user.token });
    const words = deltaText(replay.events).split(' ').length;
    assert.ok(words >= 5 && words < 300, `partial reply of ${words} words`);

    const transactions = await until('the abort charge', async () => ((await transactionsOf(streamId)).length === 2 ? transactionsOf(streamId) : undefined));
    const [completion, prompt] = transactions;
    assert.equal(completion!.context, 'incomplete');
    assert.equal(completion!.source, 'estimate');
    const completionTokens = -completion!.rawAmount;
    // The tokenizer's count of the partial text: about a token a word, never the whole 300.
    assert.ok(completionTokens >= words && completionTokens < 300 * 2, `${completionTokens} tokens for ${words} words`);
    assert.equal(completion!.tokenValue, -Math.ceil(completionTokens * 2 * 1.15));
    assert.ok(prompt!.rawAmount < 0);
    assert.equal(await creditsOf(user.user.id), START + prompt!.tokenValue + completion!.tokenValue);
  });

  test('a run is refused at zero balance with LibreChat\'s token_balance error, before any provider call', async () => {
    const user = await registerAndLogin(http, 'balance-zero');
    await http.get('/api/balance', { token: user.token });
    // A refill just happened: none is due for an hour.
    await Balance.updateOne({ user: user.user.id }, { $set: { tokenCredits: 0, lastRefill: new Date() } });
    const result = await chatOn(stack, user, { text: 'Am I broke?' });
    assert.equal(result.status, 200);
    assert.equal(result.events[0]!.data.created, true, JSON.stringify(result.events[0]));
    const error = result.events.find((event) => event.event === 'error');
    assert.ok(error, JSON.stringify(result.events));
    const details = JSON.parse(error.data.text);
    assert.equal(details.type, 'token_balance');
    assert.equal(details.balance, 0);
    assert.equal(typeof details.tokenCost, 'number');
    assert.equal(typeof details.promptTokens, 'number');
    assert.equal(await Transaction.countDocuments({ user: user.user.id }), 0);
    assert.equal(await Message.countDocuments({ user: user.user.id }), 0);
  });

  test('a due auto-refill is added on the balance check, once, and the run then goes ahead', async () => {
    const user = await registerAndLogin(http, 'balance-refill');
    await http.get('/api/balance', { token: user.token });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await Balance.updateOne({ user: user.user.id }, { $set: { tokenCredits: 0, lastRefill: twoHoursAgo } });
    // Two checks at once (two API instances): one refill.
    const document = (await Balance.findOne({ user: user.user.id }).lean<BalanceDocument>())!;
    await Promise.all([refillIfDue(document), refillIfDue(document)]);
    assert.equal(await creditsOf(user.user.id), 5000);
    const refills = await Transaction.find({ user: user.user.id, tokenType: 'credits' }).lean<Array<Record<string, any>>>();
    assert.equal(refills.length, 1);
    assert.equal(refills[0]!.context, 'autoRefill');
    assert.equal(refills[0]!.rawAmount, 5000);

    // Due again: the chat's balance check refills before checking, so the run is not refused.
    // (lastRefill only moves forward in real use; a refill is keyed by the one it follows.)
    const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000);
    await Balance.updateOne({ user: user.user.id }, { $set: { tokenCredits: 0, lastRefill: threeHoursAgo } });
    const result = await chatOn(stack, user, { text: 'Refill me [tokens=5]' });
    assert.ok(!result.events.some((event) => event.event === 'error'), JSON.stringify(result.events.at(-1)));
    assert.ok(finalEvent(result.events)?.data.responseMessage, JSON.stringify(result.events.at(-1)));
    const after = (await http.get('/api/balance', { token: user.token })).body;
    assert.ok(after.tokenCredits > 0 && after.tokenCredits < 5000, JSON.stringify(after));
    assert.ok(new Date(after.lastRefill).getTime() > twoHoursAgo.getTime());
    assert.equal(await Transaction.countDocuments({ user: user.user.id, tokenType: 'credits' }), 2);
  });
});

describe('balance disabled', () => {
  let stack: ChatStack;
  let http: HttpClient;

  beforeAll(async () => {
    stack = await startChatStack({ overrides: { CONFIG_PATH: writeConfig('off', []), CHAT_STREAM_FLUSH_MS: '0' } });
    http = createHttpClient(stack.app.baseUrl);
  });
  afterAll(async () => {
    await stack?.close();
    if (stack) await cleanUpTestData(stack.app.config);
  });

  test('no balance, no charge, no refusal', async () => {
    assert.deepEqual((await http.get('/api/config')).body.balance.enabled, false);
    const user = await registerAndLogin(http, 'balance-off');
    const response = await http.get('/api/balance', { token: user.token });
    assert.equal(response.status, 404);
    assert.deepEqual(response.body, { error: 'Balance not found' });
    const result = await chatOn(stack, user, { text: 'Free of charge [tokens=10]' });
    assert.ok(finalEvent(result.events)?.data.responseMessage, JSON.stringify(result.events.at(-1)));
    assert.equal(await Transaction.countDocuments({ user: user.user.id }), 0);
    assert.equal(await Balance.countDocuments({ user: user.user.id }), 0);
  });
});
