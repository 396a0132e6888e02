/**
 * LibreChat's newest client (generation protocol 2) and the rc1 client, side by side: the POST answers
 * JSON for one and SSE for the other; the newest client follows `/chat/stream/:conversationId`, resumes
 * with one `sync` frame, reads `/chat/status` (inactive before it accepts a final frame), `/chat/active`
 * as `activeJobIds`, and stops a reply by conversation id and `generationCreatedAt`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse, type SseEvent } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;

beforeAll(async () => {
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

const protocolHeaders = { 'x-librechat-generation-protocol': '2' };

/** The POST as the newest client sends it (fetch, JSON, protocol markers, a clientRequestId). */
async function startV2(token: string, text: string, clientRequestId = randomUUID()) {
  const response = await fetch(`${stack.app.baseUrl}/api/agents/chat/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: '*/*', ...protocolHeaders },
    body: JSON.stringify({ endpoint: 'demo', endpointType: 'custom', model: 'demo-fast', text, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, messageId: randomUUID(), clientRequestId, generationProtocolVersion: 2 }),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: (await response.json()) as Record<string, any> };
}

function streamUrl(id: string, query: Record<string, string | number> = {}) {
  const search = new URLSearchParams({ generationProtocolVersion: '2', ...Object.fromEntries(Object.entries(query).map(([key, value]) => [key, String(value)])) });
  return `${stack.app.baseUrl}/api/agents/chat/stream/${id}?${search}`;
}

const status = async (token: string, conversationId: string) => (await http.get(`/api/agents/chat/status/${conversationId}?generationProtocolVersion=2`, { token })).body;

describe('generation protocol 2', () => {
  test('start answers JSON; the stream by conversation id carries created, steps, deltas and a final frame', async () => {
    const user = await registerAndLogin(http, 'v2start');
    const started = await startV2(user.token, 'protocol two [tokens=30 rate=100]');
    assert.equal(started.status, 200);
    assert.match(started.contentType, /application\/json/);
    assert.equal(started.body.status, 'started');
    assert.equal(started.body.generationProtocolVersion, 2);
    assert.equal(started.body.streamId, started.body.conversationId, 'the stream id is the conversation id');
    assert.ok(Number.isSafeInteger(started.body.generationCreatedAt) && started.body.generationCreatedAt > 0);
    let statusAtFinal: Promise<Record<string, unknown>> | undefined;
    const result = await requestSse(streamUrl(started.body.streamId, { generationCreatedAt: started.body.generationCreatedAt }), {
      token: user.token,
      disconnectWhen: (event) => {
        // Asked the moment the final frame arrives, as the client does; awaited below.
        if (event.data?.final) {
          statusAtFinal = status(user.token, started.body.conversationId);
          statusAtFinal.catch(() => undefined); // its failure is reported where it is awaited below
        }
        return false;
      },
    });
    assert.equal(result.status, 200);
    assert.equal(result.events[0]!.data.created, true);
    assert.equal(result.events[1]!.data.event, 'on_run_step');
    const final = finalEvent(result.events)!;
    assert.equal(final.data.generationProtocolVersion, 2);
    assert.equal(deltaText(result.events).split(' ').length, 30);
    assert.equal(final.data.responseMessage.messageId, result.events[0]!.data.responseMessageId, 'one reply id everywhere');
    assert.equal(final.data.requestMessage.messageId, result.events[0]!.data.message.messageId);
    // The client accepts the final frame only if status already says inactive (it asks at once).
    assert.ok(statusAtFinal, 'status was asked at the final frame');
    assert.deepEqual(await statusAtFinal, { active: false, generationProtocolVersion: 2 });
  });

  test('status, active and resume while running: one sync frame with the run so far, then the rest, nothing twice', async () => {
    const user = await registerAndLogin(http, 'v2resume');
    const started = await startV2(user.token, 'resume me [tokens=60 rate=20]');
    const { conversationId, generationCreatedAt } = started.body;
    const first = await requestSse(streamUrl(conversationId), { token: user.token, disconnectWhen: (_event, events) => deltaText(events).split(' ').length >= 8 });
    assert.equal(first.completed, false);
    const running = await status(user.token, conversationId);
    assert.equal(running.active, true);
    assert.equal(running.generationProtocolVersion, 2);
    assert.equal(running.streamId, conversationId);
    assert.equal(running.createdAt, generationCreatedAt);
    assert.equal(running.resumeState.responseMessageId, first.events[0]!.data.responseMessageId);
    assert.equal(running.resumeState.userMessage.messageId, first.events[0]!.data.message.messageId);
    assert.equal(running.resumeState.runSteps.length, 1);
    assert.deepEqual((await http.get('/api/agents/chat/active', { token: user.token })).body.activeJobIds, [conversationId]);

    const resumed = await requestSse(streamUrl(conversationId, { resume: 'true', generationCreatedAt }), { token: user.token });
    const [sync, ...rest] = resumed.events;
    assert.equal(sync!.data.sync, true);
    assert.deepEqual(sync!.data.pendingEvents, []);
    assert.equal(sync!.data.resumeState.runSteps[0].runId, first.events[0]!.data.responseMessageId);
    const snapshotText = (sync!.data.resumeState.aggregatedContent as Array<{ type: string; text?: string }>).map((part) => part.text ?? '').join('');
    assert.ok(!rest.some((event: SseEvent) => event.data?.created), 'created is not sent again on resume');
    const final = finalEvent(rest)!;
    assert.equal(snapshotText + deltaText(rest), final.data.responseMessage.text, 'snapshot + what follows = the reply, nothing twice');
    assert.equal(final.data.responseMessage.text.split(' ').length, 60);
    assert.deepEqual(await status(user.token, conversationId), { active: false, generationProtocolVersion: 2 });
    assert.deepEqual((await http.get('/api/agents/chat/active', { token: user.token })).body.activeJobIds, []);
    // Resuming an ended run gets its final frame at once.
    const again = await requestSse(streamUrl(conversationId, { resume: 'true' }), { token: user.token, timeoutMs: 5000 });
    assert.equal(again.events.length, 1);
    assert.equal(again.events[0]!.data.final, true);
  });

  test('abort by conversation id and generationCreatedAt: success, and the stream ends with an aborted final', async () => {
    const user = await registerAndLogin(http, 'v2abort');
    const started = await startV2(user.token, 'stop me [tokens=200 rate=20]');
    const { conversationId, generationCreatedAt } = started.body;
    const following = requestSse(streamUrl(conversationId, { generationCreatedAt }), { token: user.token });
    await new Promise((resolve) => setTimeout(resolve, 800));
    const wrongEpoch = await http.post('/api/agents/chat/abort', { token: user.token, body: { conversationId, generationCreatedAt: generationCreatedAt - 1, generationProtocolVersion: 2 } });
    assert.equal(wrongEpoch.status, 409);
    assert.equal(wrongEpoch.body.code, 'RUN_REPLACED');
    const aborted = await http.post('/api/agents/chat/abort', { token: user.token, headers: protocolHeaders, body: { conversationId, generationCreatedAt, generationProtocolVersion: 2 } });
    assert.equal(aborted.status, 200);
    assert.equal(aborted.body.success, true);
    assert.equal(aborted.body.aborted, conversationId);
    const result = await following;
    const final = finalEvent(result.events)!;
    assert.equal(final.data.aborted, true);
    assert.equal(final.data.responseMessage.unfinished, true);
    assert.equal(final.data.responseMessage.text, deltaText(result.events));
  });

  test('the same send twice (same clientRequestId): resumed while running, settled once ended; a stale epoch is 409', async () => {
    const user = await registerAndLogin(http, 'v2repeat');
    const clientRequestId = randomUUID();
    const first = await startV2(user.token, 'once [tokens=20 rate=20]', clientRequestId);
    const second = await startV2(user.token, 'once [tokens=20 rate=20]', clientRequestId);
    assert.equal(second.body.status, 'resumed');
    assert.equal(second.body.conversationId, first.body.conversationId);
    assert.equal(second.body.generationCreatedAt, first.body.generationCreatedAt);
    const stale = await requestSse(streamUrl(first.body.conversationId, { generationCreatedAt: first.body.generationCreatedAt + 1 }), { token: user.token });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 'GENERATION_REPLACED');
    await requestSse(streamUrl(first.body.conversationId), { token: user.token });
    const third = await startV2(user.token, 'once [tokens=20 rate=20]', clientRequestId);
    assert.deepEqual(third.body, { conversationId: first.body.conversationId, status: 'settled', generationProtocolVersion: 2 });
    const messages = (await http.get(`/api/messages/${first.body.conversationId}`, { token: user.token })).body as unknown[];
    assert.equal(messages.length, 2, 'one turn');
  });
});

describe('the rc1 protocol beside it', () => {
  test('a POST without protocol markers still streams SSE on the same response', async () => {
    const user = await registerAndLogin(http, 'rc1');
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/agents`, {
      method: 'POST',
      token: user.token,
      body: { endpoint: 'demo', model: 'demo-fast', text: 'old client [tokens=10]', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
    });
    assert.equal(result.status, 200);
    assert.equal(result.events[0]!.data.created, true);
    assert.ok(finalEvent(result.events));
    assert.equal(finalEvent(result.events)!.data.generationProtocolVersion, undefined);
  });
});
