/**
 * An upload becomes searchable through its ingestion workflow (extract → chunk → embed → index) on the
 * files task queue: the real API, worker (in this process), Temporal, FerretDB, LanceDB in a temp folder and
 * the fake provider's deterministic embeddings.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { createLanceVectorIndex } from '../activities/files/index/lance-vector-index.ts';
import { loadFileSearchConfig } from '../shared/file-search-config.ts';
import { ingestWorkflowId } from '../shared/file-ingestion.ts';
import { startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { makeCorruptPdf, makePdf, text } from './helpers/file-fixtures.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { maxActivityAttempt } from './helpers/temporal-history.ts';
import { cleanUpTestData, testEnvironment } from './helpers/test-app.ts';
import { foldAsClient } from './helpers/client-fold.ts';
import { finalEvent, requestSse } from './helpers/sse-client.ts';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';

let stack: ChatStack;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let bob: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  stack = await startChatStack();
  http = createHttpClient(stack.app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  bob = await registerAndLogin(http, 'bob');
});
afterAll(async () => {
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

async function upload(token: string, content: Uint8Array, filename: string, type: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  form.append('file_id', randomUUID());
  form.append('endpoint', 'demo');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([content as Uint8Array<ArrayBuffer>], { type }), filename);
  const response = await fetch(`${stack.app.baseUrl}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** Polls the file (as a client would) until its ingestion settles. */
async function settled(token: string, fileId: string, timeoutMs = 60_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<string>();
  while (Date.now() < deadline) {
    const { body } = await http.get(`/api/files/${fileId}`, { token });
    seen.add(body.status);
    if (body.status === 'ready' || body.status === 'error') return { ...body, seen: [...seen] };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`file ${fileId} did not settle within ${timeoutMs} ms (seen: ${[...seen].join(', ')})`);
}

function vectorIndex() {
  const search = loadFileSearchConfig(testEnvironment(stack.environment) as NodeJS.ProcessEnv, stack.app.config);
  assert.equal(search.index.kind, 'lancedb');
  return createLanceVectorIndex({ directory: (search.index as { directory: string }).directory, tableName: (search.index as { tableName: string }).tableName });
}

describe('file ingestion', () => {
  test('a multi-page PDF: pending at once, then ready with its chunks indexed and searchable by page', async () => {
    const pages = Array.from({ length: 6 }, (_, page) => [`Page ${page + 1} of the durability handbook.`, page === 4 ? 'The heartbeat timeout notices a dead worker within seconds.' : 'Workflows survive restarts.']);
    const uploaded = await upload(alice.token, makePdf(pages), 'handbook.pdf', 'application/pdf');
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    assert.equal(uploaded.body.status, 'pending');
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    assert.equal(file.embedded, true);
    assert.ok(file.chunks >= 1);
    const index = vectorIndex();
    try {
      assert.equal(await index.countChunks(file.file_id), file.chunks);
    } finally {
      await index.close();
    }
  });

  test('a file whose name lies is read as what it is; a corrupt PDF fails once, clearly, without retries', async () => {
    const lying = await upload(alice.token, makePdf([['Hidden PDF text about temporal workflows.']]), 'notes.txt', 'text/plain');
    const read = await settled(alice.token, lying.body.file_id);
    assert.equal(read.status, 'ready', read.error);

    const corrupt = await upload(alice.token, makeCorruptPdf(), 'broken.pdf', 'application/pdf');
    const failed = await settled(alice.token, corrupt.body.file_id);
    assert.equal(failed.status, 'error');
    assert.match(failed.error, /damaged|cannot be read|corrupt/i);
    assert.equal(await maxActivityAttempt(ingestWorkflowId(corrupt.body.file_id)), 1, 'a broken file is not retried');
  });

  test('the embeddings API answering 429 is retried, and the file ends ready', async () => {
    const key = randomUUID().slice(0, 8);
    const uploaded = await upload(alice.token, text(`Release notes [fail=429 times=1 key=${key}]\n\nDurable ingestion retries what is transient.`), 'notes.md', 'text/markdown');
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    assert.ok(stack.provider.requestCount(key) >= 2, 'the embeddings request was made again');
  });

  test('deleting a file is a workflow: its vectors, object and record go; another user cannot', async () => {
    const uploaded = await upload(alice.token, text('Short note about deletion workflows.'), 'delete-me.txt', 'text/plain');
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    const refused = await http.delete('/api/files', { token: bob.token, body: { files: [{ file_id: file.file_id, filepath: file.filepath }] } });
    assert.equal(refused.status, 403);
    const deleted = await http.delete('/api/files', { token: alice.token, body: { files: [{ file_id: file.file_id, filepath: file.filepath }] } });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal((await http.get(`/api/files/${file.file_id}`, { token: alice.token })).status, 404);
    const index = vectorIndex();
    try {
      assert.equal(await index.countChunks(file.file_id), 0);
    } finally {
      await index.close();
    }
    assert.equal((await http.get(`/api/files/download/${alice.user.id}/${file.file_id}`, { token: alice.token })).status, 404);
  });

  test('a chat with an attached PDF: the model calls file_search and cites it; the client gets LibreChat\'s attachment event', async () => {
    const pages = [['Introduction to the handbook.'], ['Heartbeats are sent every second by a running activity.'], ['The heartbeat timeout notices a dead worker within seconds, and the activity is retried elsewhere.']];
    const uploaded = await upload(alice.token, makePdf(pages), 'runbook.pdf', 'application/pdf');
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token: alice.token,
      body: { endpoint: 'demo', model: 'demo-fast', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, files: [{ file_id: file.file_id, filename: 'runbook.pdf' }], text: 'what happens when a worker dies [tool=file_search arg.query=heartbeat_timeout_dead_worker tokens=5]' },
    });
    assert.equal(result.completed, true);
    const attachment = result.events.find((event) => event.event === 'attachment');
    assert.ok(attachment, 'an attachment event');
    assert.equal(attachment.data.type, 'file_search');
    const sources = attachment.data.file_search.sources as Array<{ fileId: string; fileName: string; pages: number[]; relevance: number }>;
    assert.ok(sources.length >= 1);
    assert.ok(sources.every((source) => source.fileId === file.file_id && source.fileName === 'runbook.pdf'));
    assert.ok(sources.some((source) => source.pages.includes(3)), `pages cited: ${sources.map((source) => source.pages.join(',')).join(' | ')}`);
    const final = finalEvent(result.events)!.data;
    const call = final.responseMessage.content.find((part: { type: string }) => part.type === 'tool_call');
    assert.equal(call.tool_call.name, 'file_search');
    assert.match(call.tool_call.output, /runbook\.pdf, page/);
    assert.equal(attachment.data.toolCallId, call.tool_call.id);
    assert.deepEqual(final.responseMessage.attachments, [attachment.data]);
    assert.deepEqual(final.responseMessage.content, foldAsClient(result.events));
    assert.match(final.responseMessage.content.at(-1).text, /^Tool file_search said: \[1\] runbook\.pdf/);
    // The attachment stays on the user's message, as LibreChat keeps it: in the created event, the final one and on reload.
    assert.equal(result.events[0]!.data.message.files[0].file_id, file.file_id);
    assert.deepEqual(final.requestMessage.files.map((entry: { file_id: string; filename: string }) => [entry.file_id, entry.filename]), [[file.file_id, 'runbook.pdf']]);
    const reloaded = await http.get(`/api/messages/${final.conversation.conversationId}`, { token: alice.token });
    const userMessage = reloaded.body.find((message: { isCreatedByUser: boolean }) => message.isCreatedByUser);
    assert.equal(userMessage.files[0].filename, 'runbook.pdf');
    assert.equal(userMessage.files[0].type, 'application/pdf');

    // Another user's file attached by id is not searchable by them.
    const foreign = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token: bob.token,
      body: { endpoint: 'demo', model: 'demo-fast', conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, files: [{ file_id: file.file_id }], text: 'steal [tool=file_search arg.query=heartbeat tokens=3]' },
    });
    assert.equal(foreign.completed, true);
    assert.equal(foreign.events.some((event) => event.event === 'attachment'), false);
    assert.equal(finalEvent(foreign.events)!.data.responseMessage.content.some((part: { type: string }) => part.type === 'tool_call'), false, 'no file_search offered');
  });

  test('an agent\'s file_search resource: uploaded with agent_id and tool_resource, searched in the agent\'s runs', async () => {
    const agent = await http.post('/api/agents', { token: alice.token, body: { name: 'Librarian', provider: 'demo', model: 'demo-fast', tools: [] } });
    assert.equal(agent.status, 201);
    const uploaded = await upload(alice.token, text('# Retention\n\nStreams are kept for one hour after a run ends, so a client can resume.'), 'retention.md', 'text/markdown', { agent_id: agent.body.id, tool_resource: 'file_search' });
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    const file = await settled(alice.token, uploaded.body.file_id);
    assert.equal(file.status, 'ready', file.error);
    const expanded = await http.get(`/api/agents/${agent.body.id}/expanded`, { token: alice.token });
    assert.ok(expanded.body.tools.includes('file_search'));
    assert.deepEqual(expanded.body.tool_resources.file_search.file_ids, [file.file_id]);
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/agents`, {
      method: 'POST',
      token: alice.token,
      body: { endpoint: 'agents', agent_id: agent.body.id, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'how long are streams kept [tool=file_search arg.query=streams_kept_hour tokens=3]' },
    });
    const final = finalEvent(result.events)!.data;
    const call = final.responseMessage.content.find((part: { type: string }) => part.type === 'tool_call');
    assert.match(call.tool_call.output, /retention\.md/);
    assert.equal(final.responseMessage.attachments[0].file_search.sources[0].fileName, 'retention.md');
  });

  test('another user\'s file id listed in one\'s own agent gives neither its passages nor the right to delete it', async () => {
    const bobs = await upload(bob.token, text('Bob\'s private plan: the launch date is the ninth of March.'), 'plan.md', 'text/markdown');
    const bobsFile = await settled(bob.token, bobs.body.file_id);
    assert.equal(bobsFile.status, 'ready', bobsFile.error);
    const agent = await http.post('/api/agents', {
      token: alice.token,
      body: { name: 'Snoop', provider: 'demo', model: 'demo-fast', tools: ['file_search'], tool_resources: { file_search: { file_ids: [bobsFile.file_id] } } },
    });
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/agents`, {
      method: 'POST',
      token: alice.token,
      body: { endpoint: 'agents', agent_id: agent.body.id, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID, text: 'launch date? [tool=file_search arg.query=launch_date tokens=3]' },
    });
    assert.equal(result.completed, true);
    assert.equal(result.events.some((event) => event.event === 'attachment'), false, 'no passage of Bob\'s file');
    assert.ok(!JSON.stringify(finalEvent(result.events)!.data.responseMessage).includes('ninth of March'));
    const listed = await http.get(`/api/files/agent/${agent.body.id}`, { token: alice.token });
    assert.deepEqual(listed.body, [], 'Bob\'s record is not listed through her agent');
    const deleted = await http.delete('/api/files', { token: alice.token, body: { files: [{ file_id: bobsFile.file_id, filepath: bobsFile.filepath }], agent_id: agent.body.id } });
    assert.equal(deleted.status, 403);
    assert.equal((await http.get(`/api/files/${bobsFile.file_id}`, { token: bob.token })).body.status, 'ready', 'Bob\'s file is still there');
  });
});
