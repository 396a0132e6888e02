import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse, type SseEvent } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let mallory: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  mallory = await registerAndLogin(http, 'mallory');
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

function chat(token: string, body: Record<string, unknown>, options: { disconnectWhen?: (event: SseEvent, events: SseEvent[]) => boolean } = {}) {
  return requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, { method: 'POST', token, body: { endpoint: 'demo', model: 'demo-fast', ...body }, ...options });
}

function assertIdsIncrease(events: SseEvent[]) {
  for (const event of events) assert.match(event.id ?? '', /^\d+-\d+$/, 'every event has an id');
  const ids = events.map((event) => event.id!.split('-').map(Number) as [number, number]);
  for (let index = 1; index < ids.length; index += 1) {
    const [previous, current] = [ids[index - 1]!, ids[index]!];
    assert.ok(current[0] > previous[0] || (current[0] === previous[0] && current[1] > previous[1]), 'ids increase');
  }
}

describe('a chat turn', () => {
  test('streams created, run step, deltas and final in LibreChat\'s format, and saves both messages', async () => {
    const result = await chat(alice.token, { text: 'Hello there [tokens=40]', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID });
    assert.equal(result.status, 200);
    assert.equal(result.completed, true);
    assertIdsIncrease(result.events);
    const [created, step] = result.events;
    assert.equal(created!.data.created, true);
    assert.equal(created!.data.message.isCreatedByUser, true);
    assert.equal(created!.data.message.text, 'Hello there [tokens=40]');
    assert.equal(created!.data.streamId, result.headers.get('x-stream-id'));
    assert.equal(step!.data.event, 'on_run_step');
    assert.equal(step!.data.data.stepDetails.message_creation.message_id, created!.data.responseMessageId);
    const final = finalEvent(result.events)!;
    assert.ok(final, 'a final event');
    assert.equal(result.events.at(-1), final);
    const text = deltaText(result.events);
    assert.equal(text.split(' ').length, 40);
    assert.equal(final.data.responseMessage.text, text);
    assert.equal(final.data.responseMessage.isCreatedByUser, false);
    assert.equal(final.data.responseMessage.sender, 'Demo');
    assert.equal(final.data.responseMessage.finish_reason, 'stop');
    assert.equal(final.data.requestMessage.messageId, created!.data.message.messageId);
    assert.equal(final.data.conversation.conversationId, created!.data.conversationId);

    const messages = await http.get(`/api/messages/${created!.data.conversationId}`, { token: alice.token });
    assert.equal(messages.body.length, 2);
    const [userMessage, reply] = messages.body;
    assert.equal(userMessage.text, 'Hello there [tokens=40]');
    assert.ok(userMessage.tokenCount > 0);
    assert.equal(reply.text, text);
    assert.equal(reply.parentMessageId, userMessage.messageId);
    assert.deepEqual(reply.content, [{ type: 'text', text }]);
    assert.ok(reply.tokenCount >= 40, `reply tokenCount ${reply.tokenCount}`);
    assert.equal(reply.unfinished, false);
    assert.equal(reply.error, false);
  });

  test('a second turn answers from the whole thread and appends to it', async () => {
    const first = await chat(alice.token, { text: 'First question [tokens=10]', conversationId: null });
    const firstFinal = finalEvent(first.events)!.data;
    const conversationId = firstFinal.conversation.conversationId;
    const second = await chat(alice.token, { text: 'Second question [tokens=12]', conversationId, parentMessageId: firstFinal.responseMessage.messageId });
    const secondFinal = finalEvent(second.events)!.data;
    assert.equal(secondFinal.requestMessage.parentMessageId, firstFinal.responseMessage.messageId);
    assert.notEqual(deltaText(second.events), deltaText(first.events));
    const messages = await http.get(`/api/messages/${conversationId}`, { token: alice.token });
    assert.deepEqual(
      messages.body.map((message: { text: string }) => message.text),
      ['First question [tokens=10]', deltaText(first.events), 'Second question [tokens=12]', deltaText(second.events)],
    );
  });

  test('a new conversation gets a generated title from gen_title', async () => {
    const result = await chat(alice.token, { text: 'Plan a trip to Lisbon [tokens=5]', conversationId: null });
    const conversationId = finalEvent(result.events)!.data.conversation.conversationId;
    const title = await http.get(`/api/convos/gen_title/${conversationId}`, { token: alice.token });
    assert.equal(title.status, 200);
    assert.equal(title.body.title, 'Chat: Plan a trip to Lisbon');
    const conversation = await http.get(`/api/convos/${conversationId}`, { token: alice.token });
    assert.equal(conversation.body.title, 'Chat: Plan a trip to Lisbon');
    assert.equal((await http.post('/api/convos/gen_title', { token: mallory.token, body: { conversationId } })).status, 404);
  });

  test('regenerate makes a sibling reply to the same user message', async () => {
    const first = await chat(alice.token, { text: 'Regenerate me [tokens=8]', conversationId: null });
    const firstFinal = finalEvent(first.events)!.data;
    const conversationId = firstFinal.conversation.conversationId;
    const userMessageId = firstFinal.requestMessage.messageId;
    const again = await chat(alice.token, { text: 'Regenerate me [tokens=8]', conversationId, parentMessageId: userMessageId, isRegenerate: true });
    const againFinal = finalEvent(again.events)!.data;
    assert.equal(again.events[0]!.data.message.messageId, userMessageId, 'no new user message');
    assert.equal(againFinal.responseMessage.parentMessageId, userMessageId);
    assert.notEqual(againFinal.responseMessage.messageId, firstFinal.responseMessage.messageId);
    const messages = await http.get(`/api/messages/${conversationId}`, { token: alice.token });
    assert.equal(messages.body.length, 3);
    assert.equal(messages.body.filter((message: { parentMessageId: string }) => message.parentMessageId === userMessageId).length, 2);
  });

  test('continue appends to an existing reply (with editedContent replacing its text first)', async () => {
    const first = await chat(alice.token, { text: 'Continue me [tokens=30]', conversationId: null, max_tokens: 10 });
    const firstFinal = finalEvent(first.events)!.data;
    assert.equal(firstFinal.responseMessage.finish_reason, 'length');
    const { conversationId } = firstFinal.conversation;
    const replyId = firstFinal.responseMessage.messageId;
    const parentMessageId = firstFinal.requestMessage.messageId;
    const continued = await chat(alice.token, { text: '', conversationId, isContinued: true, responseMessageId: replyId, parentMessageId, max_tokens: 10 });
    const continuedFinal = finalEvent(continued.events)?.data;
    assert.ok(continuedFinal, JSON.stringify(continued.events.at(-1) ?? continued.body));
    assert.equal(continuedFinal.responseMessage.messageId, replyId);
    assert.equal(continuedFinal.responseMessage.text, firstFinal.responseMessage.text + deltaText(continued.events));
    assert.equal(continuedFinal.responseMessage.text.split(' ').length, 20);

    // The user cut the reply back to its first five words, then asked to continue from there.
    const edited = continuedFinal.responseMessage.text.split(' ').slice(0, 5).join(' ');
    const fromEdit = await chat(alice.token, { text: '', conversationId, isContinued: true, responseMessageId: replyId, parentMessageId, editedContent: { index: 0, text: edited, type: 'text' } });
    const fromEditFinal = finalEvent(fromEdit.events)!.data;
    assert.ok(fromEditFinal.responseMessage.text.startsWith(`${edited} `));
    assert.equal(fromEditFinal.responseMessage.text, edited + deltaText(fromEdit.events));
    assert.equal(fromEditFinal.responseMessage.text.split(' ').length, 30);
    const saved = (await http.get(`/api/messages/${conversationId}`, { token: alice.token })).body;
    assert.equal(saved.length, 2, 'continuing never adds messages');
  });

  test('the prompt carries the system text and is trimmed from the oldest turn to the context budget', async () => {
    const long = (label: string) => `${label} ${'lorem ipsum dolor sit amet '.repeat(20)}[tokens=5]`;
    const budget = { maxContextTokens: 400, maxOutputTokens: 50, promptPrefix: 'You are terse.' };
    const first = finalEvent((await chat(alice.token, { text: long('first'), conversationId: null, ...budget })).events)!.data;
    const conversationId = first.conversation.conversationId;
    // The first turn's title is asked of the same provider after its final event: wait for it, so the
    // provider's last request is the second turn's prompt.
    await http.get(`/api/convos/gen_title/${conversationId}`, { token: alice.token });
    const second = finalEvent((await chat(alice.token, { text: long('second'), conversationId, parentMessageId: first.responseMessage.messageId, ...budget })).events)!.data;
    const prompt = stack.provider.lastMessages();
    assert.deepEqual(prompt[0], { role: 'system', content: 'You are terse.' });
    assert.equal(prompt.length, 4, 'system, first question, first reply, second question');
    await chat(alice.token, { text: long('third'), conversationId, parentMessageId: second.responseMessage.messageId, ...budget });
    const trimmed = stack.provider.lastMessages();
    assert.equal(trimmed[0]!.role, 'system');
    assert.ok(trimmed.every((message) => !message.content.startsWith('first')), 'the oldest turn was dropped');
    assert.ok(trimmed.at(-1)!.content.startsWith('third'));
    const conversation = await http.get(`/api/convos/${conversationId}`, { token: alice.token });
    assert.equal(conversation.body.promptPrefix, 'You are terse.');

    const tooLong = await chat(alice.token, { text: 'x '.repeat(2000), conversationId: null, maxContextTokens: 300, maxOutputTokens: 50 });
    const error = tooLong.events.at(-1)!;
    assert.equal(error.event, 'error');
    assert.match(error.data.text, /too long for demo-fast/);
  });

  test('refuses bad requests with 400 and another user\'s conversation with 404, saving nothing', async () => {
    const unknownModel = await chat(alice.token, { text: 'x', model: 'gpt-9' });
    assert.equal(unknownModel.status, 400);
    assert.match(unknownModel.body.message, /^model:/);
    const unknownEndpoint = await chat(alice.token, { text: 'x', endpoint: 'nope' });
    assert.equal(unknownEndpoint.status, 400);
    const empty = await chat(alice.token, { text: '   ' });
    assert.equal(empty.status, 400);
    const own = finalEvent((await chat(alice.token, { text: 'mine [tokens=3]', conversationId: null })).events)!.data;
    const intrusion = await chat(mallory.token, { text: 'let me in', conversationId: own.conversation.conversationId, parentMessageId: own.responseMessage.messageId });
    assert.equal(intrusion.status, 404);
    assert.equal((await http.get(`/api/messages/${own.conversation.conversationId}`, { token: alice.token })).body.length, 2);
    const unauthenticated = await fetch(`${stack.app.baseUrl}/api/agents/chat/custom`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x', model: 'demo-fast' }) });
    assert.equal(unauthenticated.status, 401);
  });
});

describe('following a run', () => {
  test('a client that disconnects resumes with Last-Event-ID: no gap, no repeat, and the run finished anyway', async () => {
    const first = await chat(alice.token, { text: 'Resume me [tokens=60 rate=100]', conversationId: null }, {
      disconnectWhen: (_event, events) => events.filter((candidate) => candidate.data?.event === 'on_message_delta').length === 15,
    });
    assert.equal(first.completed, false);
    const streamId = first.events[0]!.data.streamId;
    const lastEventId = first.events.at(-1)!.id!;
    const rest = await requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: alice.token, lastEventId });
    assert.equal(rest.completed, true);
    assert.ok(rest.events.every((event) => event.id! > lastEventId || event.id!.length > lastEventId.length), 'only later events');
    const final = finalEvent(rest.events)!.data;
    assert.equal(deltaText(first.events) + deltaText(rest.events), final.responseMessage.text);
    assert.equal(final.responseMessage.text.split(' ').length, 60);
    // A replay from the start gives the whole run again, identically.
    const replay = await requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: alice.token });
    assert.deepEqual(replay.events.map((event) => event.id), [...first.events, ...rest.events].map((event) => event.id));
  });

  test('active and status report a running run; another user sees 404 and cannot abort it', async () => {
    const started = await chat(alice.token, { text: 'Watch me [tokens=200 rate=40]', conversationId: null }, { disconnectWhen: (event) => event.data?.event === 'on_message_delta' });
    const { streamId, conversationId } = started.events[0]!.data;
    const active = await http.get('/api/agents/chat/active', { token: alice.token });
    assert.ok(active.body.active.some((run: { streamId: string }) => run.streamId === streamId));
    const status = await http.get(`/api/agents/chat/status/${conversationId}`, { token: alice.token });
    assert.equal(status.body.active, true);
    assert.equal(status.body.streamId, streamId);

    assert.equal((await http.get('/api/agents/chat/active', { token: mallory.token })).body.active.length, 0);
    assert.equal((await http.get(`/api/agents/chat/status/${conversationId}`, { token: mallory.token })).status, 404);
    const peek = await requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: mallory.token });
    assert.equal(peek.status, 404);
    assert.equal(peek.events.length, 0);
    assert.equal((await http.post('/api/agents/chat/abort', { token: mallory.token, body: { streamId } })).status, 404);
    assert.equal((await http.post('/api/agents/chat/abort', { token: mallory.token, body: { conversationId } })).status, 404);

    const aborted = await http.post('/api/agents/chat/abort', { token: alice.token, body: { streamId } });
    assert.equal(aborted.status, 200);
  });

  test('abort stops the run, saves the partial reply as unfinished and sends a final event', async () => {
    const started = await chat(alice.token, { text: 'Abort me [tokens=300 rate=30]', conversationId: null }, {
      disconnectWhen: (_event, events) => events.filter((candidate) => candidate.data?.event === 'on_message_delta').length === 5,
    });
    const { streamId, conversationId, responseMessageId } = started.events[0]!.data;
    const aborted = await http.post('/api/agents/chat/abort', { token: alice.token, body: { conversationId } });
    assert.equal(aborted.status, 200);
    assert.equal(aborted.body.final, true, JSON.stringify(aborted.body));
    assert.equal(aborted.body.aborted, true, JSON.stringify(aborted.body).slice(0, 1500));
    assert.equal(aborted.body.responseMessage.unfinished, true);
    const replay = await requestSse(`${stack.app.baseUrl}/api/agents/chat/stream/${streamId}`, { token: alice.token });
    assert.equal(replay.completed, true);
    const streamed = deltaText(replay.events);
    const words = streamed.split(' ').length;
    assert.ok(words >= 5 && words < 300, `partial reply of ${words} words`);
    const saved = (await http.get(`/api/messages/${conversationId}`, { token: alice.token })).body.find((message: { messageId: string }) => message.messageId === responseMessageId);
    assert.equal(saved.unfinished, true);
    assert.equal(saved.text, streamed);
    assert.equal((await http.get(`/api/agents/chat/status/${conversationId}`, { token: alice.token })).body.active, false);
  });
});
