import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ContentTypes, tConversationSchema, tMessageSchema, type TMessageContentParts } from 'librechat-data-provider';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { foldAsClient } from './helpers/client-fold.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { finalEvent, requestSse, type SseEvent } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

let stack: ChatStack;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let mallory: Awaited<ReturnType<typeof registerAndLogin>>;
let agentId: string;

beforeAll(async () => {
  stack = await startChatStack({ overrides: { DEMO_AGENT: 'true' } });
  http = createHttpClient(stack.app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  mallory = await registerAndLogin(http, 'mallory');
  const created = await http.post('/api/agents', {
    token: alice.token,
    body: { name: 'Maths helper', provider: 'demo', model: 'demo-fast', instructions: 'Use the calculator for arithmetic.', tools: ['calculator', 'current_datetime'] },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  agentId = created.body.id;
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

function agentChat(token: string, body: Record<string, unknown>, options: { disconnectWhen?: (event: SseEvent, events: SseEvent[]) => boolean } = {}) {
  return requestSse(`${stack.app.baseUrl}/api/agents/chat/agents`, {
    method: 'POST',
    token,
    body: { endpoint: 'agents', agent_id: agentId, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, ...body },
    ...options,
  });
}

const named = (events: SseEvent[], name: string) => events.filter((event) => event.data?.event === name);

describe('an agent run over HTTP', () => {
  test('streams message and tool steps as the client renders them; the saved content is what the client folded', async () => {
    const result = await agentChat(alice.token, { text: 'six times seven? [tool=calculator arg.input=6*7 tokens=5]' });
    assert.equal(result.status, 200);
    assert.equal(result.completed, true);
    const steps = named(result.events, 'on_run_step').map((event) => event.data.data);
    assert.deepEqual(steps.map((step) => [step.type, step.index]), [['message_creation', 0], ['tool_calls', 1], ['message_creation', 2]]);
    const toolStep = steps[1]!;
    assert.equal(toolStep.stepDetails.tool_calls[0].name, 'calculator');
    const argDeltas = named(result.events, 'on_run_step_delta');
    assert.ok(argDeltas.length >= 1);
    assert.ok(argDeltas.every((event) => event.data.data.id === toolStep.id && event.data.data.delta.type === 'tool_calls'));
    const [completed] = named(result.events, 'on_run_step_completed');
    assert.equal(completed!.data.data.result.index, 1);
    assert.deepEqual(completed!.data.data.result.tool_call, { id: toolStep.stepDetails.tool_calls[0].id, name: 'calculator', args: '{"input":"6*7"}', output: '42', progress: 1, type: 'tool_call' });

    const final = finalEvent(result.events)!;
    const saved = final.data.responseMessage;
    assert.deepEqual(saved.content, foldAsClient(result.events), 'the server saved exactly what the client built');
    assert.match(saved.content[2].text, /^Tool calculator said: 42\n/);
    assert.equal(saved.endpoint, 'agents');
    assert.equal(saved.model, agentId);
    assert.equal(saved.sender, 'Maths helper');
    assert.equal(final.data.conversation.endpoint, 'agents');
    assert.equal(final.data.conversation.agent_id, agentId);

    // LibreChat's own schemas and content types accept what was saved (contract with librechat-data-provider).
    tMessageSchema.parse(saved);
    tConversationSchema.parse(final.data.conversation);
    const knownTypes = new Set<string>(Object.values(ContentTypes));
    const parts: TMessageContentParts[] = saved.content;
    for (const part of parts) assert.ok(knownTypes.has(part.type as string), `content type ${part.type}`);
    assert.equal((parts[1] as { tool_call: { type: string } }).tool_call.type, ContentTypes.TOOL_CALL);

    // Reloaded from the database the same way.
    const messages = await http.get(`/api/messages/${final.data.conversation.conversationId}`, { token: alice.token });
    assert.equal(messages.status, 200);
    const reloaded = messages.body.find((message: { messageId: string }) => message.messageId === saved.messageId);
    assert.deepEqual(reloaded.content, saved.content);
  });

  test('LibreChat\'s newest client: JSON start, then the stream; a resume mid-answer gets the tool step in its sync state', async () => {
    const started = await http.post('/api/agents/chat/agents', {
      token: alice.token,
      headers: { accept: 'application/json, text/plain, */*' },
      body: { endpoint: 'agents', agent_id: agentId, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'add [tool=calculator arg.input=1+1 tokens=150 rate=50]', clientRequestId: `req-${Date.now()}` },
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const streamUrl = `${stack.app.baseUrl}/api/agents/chat/stream/${started.body.streamId}`;
    // Read until the answer is streaming, then leave, as a reloading tab does.
    const first = await requestSse(streamUrl, { token: alice.token, disconnectWhen: (_event, events) => named(events, 'on_message_delta').length >= 3 && named(events, 'on_run_step').length >= 3 });
    assert.equal(first.completed, false);
    const resumed = await requestSse(`${streamUrl}?resume=true`, { token: alice.token });
    assert.equal(resumed.completed, true);
    const sync = resumed.events[0]!.data;
    assert.equal(sync.sync, true);
    assert.deepEqual(sync.resumeState.runSteps.map((step: { type: string }) => step.type), ['message_creation', 'tool_calls', 'message_creation']);
    assert.equal(sync.resumeState.aggregatedContent[1].tool_call.output, '2');
    const final = finalEvent(resumed.events)!;
    assert.deepEqual(final.data.responseMessage.content, foldAsClient(resumed.events.slice(1), sync.resumeState));
  });

  test('parallel calls each get their own step and part', async () => {
    const result = await agentChat(alice.token, { text: 'both [tool=calculator,current_datetime arg.input=3*3 tokens=3]' });
    const final = finalEvent(result.events)!;
    const toolParts = final.data.responseMessage.content.filter((part: { type: string }) => part.type === 'tool_call');
    assert.deepEqual(toolParts.map((part: any) => part.tool_call.name), ['calculator', 'current_datetime']);
    assert.equal(toolParts[0].tool_call.output, '9');
    assert.deepEqual(final.data.responseMessage.content, foldAsClient(result.events));
  });

  test('every user sees the demo agent, which calls the calculator with no key and no directive; nobody but an admin may change it', async () => {
    const list = await http.get('/api/agents', { token: mallory.token });
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((agent: { id: string }) => agent.id === 'agent_durachat_demo'), 'listed for a new user');
    const result = await agentChat(mallory.token, { agent_id: 'agent_durachat_demo', text: 'What is 12 * (3 + 4)?' });
    assert.equal(result.completed, true);
    const final = finalEvent(result.events)!;
    const call = final.data.responseMessage.content.find((part: { type: string }) => part.type === 'tool_call');
    assert.equal(call.tool_call.name, 'calculator');
    assert.equal(call.tool_call.output, '84');
    assert.equal(final.data.responseMessage.sender, 'Demo agent');
    const edit = await http.patch('/api/agents/agent_durachat_demo', { token: mallory.token, body: { name: 'Mine now' } });
    assert.equal(edit.status, 403);
  });

  test('a plain endpoint\'s chat with an MCP server switched on calls its tools through the worker\'s connection', async () => {
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token: alice.token,
      body: { endpoint: 'demo', model: 'demo-fast', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'count the words: to be or not to be', ephemeralAgent: { mcp: ['durachat-tools'] } },
    });
    assert.equal(result.completed, true);
    const final = finalEvent(result.events)!;
    const call = final.data.responseMessage.content.find((part: { type: string }) => part.type === 'tool_call');
    assert.equal(call.tool_call.name, 'word_count_mcp_durachat-tools');
    assert.deepEqual(JSON.parse(call.tool_call.output), { words: 6, lines: 1, characters: 18 });
    assert.equal(final.data.responseMessage.endpoint, 'demo', 'saved on the endpoint it was asked on');
    assert.deepEqual(final.data.responseMessage.content, foldAsClient(result.events));

    const unknown = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token: alice.token,
      body: { endpoint: 'demo', model: 'demo-fast', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'hi', ephemeralAgent: { mcp: ['no-such-server'] } },
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /no MCP server named no-such-server/);
  });

  test('the tool list offers the built-in tools and the MCP tools the workers publish', async () => {
    const deadline = Date.now() + 20_000;
    let keys: string[] = [];
    while (Date.now() < deadline) {
      const tools = await http.get('/api/agents/tools', { token: alice.token });
      assert.equal(tools.status, 200);
      keys = tools.body.map((tool: { pluginKey: string }) => tool.pluginKey);
      if (keys.includes('word_count_mcp_durachat-tools')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (const key of ['calculator', 'current_datetime', 'echo_mcp_durachat-tools', 'word_count_mcp_durachat-tools', 'slow_count_mcp_durachat-tools']) assert.ok(keys.includes(key), key);
    assert.ok(!keys.includes('crash_mcp_durachat-tools'), 'fault tools only exist with DURACHAT_MCP_FAULTS=1');
  });

  test.each(['demo-claude', 'demo-gemini', 'demo-bedrock'])('an agent on %s (its own SDK and wire protocol) calls the tool and answers with its result', async (provider) => {
    const created = await http.post('/api/agents', { token: alice.token, body: { name: `On ${provider}`, provider, model: 'demo-fast', tools: ['calculator'] } });
    assert.equal(created.status, 201);
    const result = await agentChat(alice.token, { agent_id: created.body.id, text: `multiply [tool=calculator arg.input=6*7 tokens=5]` });
    assert.equal(result.completed, true, JSON.stringify(result.events.at(-1)?.data));
    const saved = finalEvent(result.events)!.data.responseMessage;
    assert.deepEqual(saved.content.filter((part: { type: string }) => part.type !== 'think').map((part: { type: string }) => part.type), ['text', 'tool_call', 'text']);
    assert.equal(saved.content.find((part: { type: string }) => part.type === 'tool_call').tool_call.output, '42');
    assert.match(saved.content.at(-1).text, /^Tool calculator said: 42/);
    assert.deepEqual(saved.content, foldAsClient(result.events));
  });

  test('continuing an agent\'s reply is refused with a reason (its tool calls cannot be extended as text)', async () => {
    const first = await agentChat(alice.token, { text: 'short [tool=calculator arg.input=1+1 tokens=3]' });
    const final = finalEvent(first.events)!.data;
    const refused = await agentChat(alice.token, {
      text: '',
      conversationId: final.conversation.conversationId,
      parentMessageId: final.requestMessage.messageId,
      isContinued: true,
      responseMessageId: final.responseMessage.messageId,
    });
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /cannot be continued; regenerate it instead/);
  });

  test('another user\'s agent is not found; the agents endpoint needs an agent id', async () => {
    const foreign = await agentChat(mallory.token, { text: 'hi' });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.message, 'Agent not found');
    const missing = await agentChat(alice.token, { text: 'hi', agent_id: undefined });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /agent_id/);
    const malformed = await agentChat(alice.token, { text: 'hi', agent_id: 'agent_../../etc' });
    assert.equal(malformed.status, 400);
  });

  test('stopped mid-answer: the final event says aborted and the tool call stays in the saved reply', async () => {
    const result = await agentChat(alice.token, { text: 'long [tool=calculator arg.input=5-1 tokens=400 rate=40]', clientRequestId: undefined }, {
      disconnectWhen: (_event, events) => named(events, 'on_message_delta').length >= 4 && named(events, 'on_run_step_completed').length === 1,
    });
    const conversationId = result.events[0]!.data.conversationId as string;
    const aborted = await http.post('/api/agents/chat/abort', { token: alice.token, body: { conversationId } });
    assert.equal(aborted.status, 200, JSON.stringify(aborted.body));
    const deadline = Date.now() + 20_000;
    let reply: any;
    while (Date.now() < deadline) {
      const messages = await http.get(`/api/messages/${conversationId}`, { token: alice.token });
      reply = messages.body.find?.((message: { isCreatedByUser: boolean }) => !message.isCreatedByUser);
      if (reply) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(reply, 'the reply was saved');
    assert.equal(reply.unfinished, true);
    assert.equal(reply.content[1].tool_call.output, '4');
    assert.ok(reply.text.length > 0);
  });
});
