/**
 * `GET /api/files/:file_id/progress`: a file's ingestion followed as SSE through the same Redis-stream hub as
 * replies. The API starts without a worker, so each follower is connected while its file is still `pending`;
 * the worker (the real one, in this process) starts once they are, and the events are the ingestion's own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { startChatStack, startInProcessWorker, type ChatStack, type InProcessWorker } from './helpers/chat-stack.ts';
import { makeCorruptPdf, makePdf } from './helpers/file-fixtures.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { requestSse, type SseEvent, type SseResult } from './helpers/sse-client.ts';
import { cleanUpTestData } from './helpers/test-app.ts';
import { createRedisClient } from '../shared/redis-client.ts';

let stack: ChatStack;
let worker: InProcessWorker | undefined;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
let bob: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  // Small embedding batches: a few pages give several `embedding` counts.
  stack = await startChatStack({ worker: false, overrides: { EMBEDDINGS_BATCH_SIZE: '1' } });
  http = createHttpClient(stack.app.baseUrl);
  alice = await registerAndLogin(http, 'alice');
  bob = await registerAndLogin(http, 'bob');
});
afterAll(async () => {
  await worker?.stop();
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

async function upload(token: string, content: Uint8Array, filename: string, type: string) {
  const form = new FormData();
  form.append('file_id', randomUUID());
  form.append('endpoint', 'demo');
  form.append('file', new Blob([content as Uint8Array<ArrayBuffer>], { type }), filename);
  const response = await fetch(`${stack.app.baseUrl}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const body = (await response.json()) as Record<string, any>;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

const progressUrl = (fileId: string) => `${stack.app.baseUrl}/api/files/${fileId}/progress`;

/** Follows the file's progress; resolves `connected` once the first frame has arrived. */
function follow(token: string, fileId: string, lastEventId?: string) {
  let connected!: () => void;
  const first = new Promise<void>((resolve) => (connected = resolve));
  const result = requestSse(progressUrl(fileId), {
    token,
    lastEventId,
    disconnectWhen: () => {
      connected();
      return false;
    },
  });
  return { connected: Promise.race([first, result.then(() => undefined)]), result };
}

async function until(condition: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const STAGE_ORDER = ['pending', 'extracting', 'embedding', 'ready', 'error'];
const seqOf = (event: SseEvent) => Number(event.id!.slice(2));

function assertInOrder(events: SseEvent[]) {
  for (let index = 1; index < events.length; index += 1) {
    assert.ok(seqOf(events[index]!) > seqOf(events[index - 1]!), 'ids increase');
    assert.ok(STAGE_ORDER.indexOf(events[index]!.data.status) >= STAGE_ORDER.indexOf(events[index - 1]!.data.status), `stages move forward: ${events.map((event) => event.data.status).join(' → ')}`);
  }
}

describe('file ingestion progress (SSE)', () => {
  let pdf: Record<string, any>;
  let corrupt: Record<string, any>;
  let full: SseResult;
  let resumed: SseResult;
  let failed: SseResult;
  let firstId: string;

  beforeAll(async () => {
    const pages = Array.from({ length: 5 }, (_, page) => [`Page ${page + 1} of the progress handbook.`, ...Array.from({ length: 30 }, (_, line) => `Line ${line + 1}: an ingestion reports each stage and every batch it embeds.`)]);
    pdf = await upload(alice.token, makePdf(pages), 'handbook.pdf', 'application/pdf');
    corrupt = await upload(alice.token, makeCorruptPdf(), 'broken.pdf', 'application/pdf');
    assert.equal(pdf.status, 'pending');

    // A client that saw the first frame and went away.
    const early = await requestSse(progressUrl(pdf.file_id), { token: alice.token, disconnectWhen: () => true });
    assert.equal(early.status, 200);
    assert.equal(early.events.length, 1);
    assert.deepEqual(early.events[0]!.data, { file_id: pdf.file_id, status: 'pending' });
    firstId = early.events[0]!.id!;

    await until(() => stack.app.server.streamHub.stats().followers === 0);
    const following = follow(alice.token, pdf.file_id);
    const resuming = follow(alice.token, pdf.file_id, firstId);
    const failing = follow(alice.token, corrupt.file_id);
    // All three are followers of the hub (the resuming one has had nothing to write yet) before any work starts.
    await Promise.all([following.connected, failing.connected]);
    await until(() => stack.app.server.streamHub.stats().followers === 3);
    worker = await startInProcessWorker({ ...stack.environment, EMBEDDINGS_BATCH_SIZE: '1' });
    [full, resumed, failed] = await Promise.all([following.result, resuming.result, failing.result]);
  });

  test('a real upload is followed from pending to ready: stages in order, embedding counts, one final frame, then the end', async () => {
    assert.equal(full.status, 200);
    assert.match(full.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.equal(full.completed, true, 'the server ended the stream');
    const statuses = full.events.map((event) => event.data.status);
    assert.equal(statuses[0], 'pending');
    assert.ok(statuses.includes('extracting'), statuses.join(','));
    assertInOrder(full.events);
    const counts = full.events.filter((event) => event.data.embedded !== undefined).map((event) => event.data);
    assert.ok(counts.length >= 2, `several embedding counts: ${JSON.stringify(counts)}`);
    for (let index = 1; index < counts.length; index += 1) assert.ok(counts[index].embedded > counts[index - 1].embedded);
    const last = full.events.at(-1)!;
    assert.equal(last.data.status, 'ready');
    assert.equal(last.data.final, true);
    assert.equal(full.events.filter((event) => event.data.final).length, 1);
    assert.equal(counts.at(-1).embedded, counts.at(-1).total);
    assert.equal(counts.at(-1).total, last.data.chunks);

    // Polling agrees with the stream.
    const record = await http.get(`/api/files/${pdf.file_id}`, { token: alice.token });
    assert.equal(record.body.status, 'ready');
    assert.equal(record.body.chunks, last.data.chunks);
  });

  test('resuming with Last-Event-ID gets only the later events, and the same end', async () => {
    assert.equal(resumed.completed, true);
    assert.ok(resumed.events.every((event) => seqOf(event) > Number(firstId.slice(2))));
    assert.deepEqual(
      resumed.events.map((event) => [event.id, event.data]),
      full.events.slice(1).map((event) => [event.id, event.data]),
    );
  });

  test('a broken file streams its error, with the message the record has', async () => {
    assert.equal(failed.completed, true);
    assertInOrder(failed.events);
    const last = failed.events.at(-1)!;
    assert.equal(last.data.status, 'error');
    assert.equal(last.data.final, true);
    assert.match(last.data.error, /damaged|cannot be read|corrupt/i);
    const record = await http.get(`/api/files/${corrupt.file_id}`, { token: alice.token });
    assert.equal(record.body.error, last.data.error);
  });

  test('a finished file answers from its stream while it lasts: the end frame with its id, and nothing twice to a client that resumes after it', async () => {
    const finalFrame = full.events.at(-1)!;
    const fresh = await requestSse(progressUrl(pdf.file_id), { token: alice.token });
    assert.equal(fresh.completed, true);
    assert.deepEqual(fresh.events.map((event) => [event.id, event.data]), [[finalFrame.id, finalFrame.data]]);
    // An EventSource reconnects after the end with the end's id: it gets an empty, ended stream, not the end again.
    const afterEnd = await requestSse(progressUrl(pdf.file_id), { token: alice.token, lastEventId: finalFrame.id });
    assert.equal(afterEnd.status, 200);
    assert.equal(afterEnd.completed, true);
    assert.deepEqual(afterEnd.events, []);
    // A client that went away mid-way gets what it missed, then the end.
    const missed = await requestSse(progressUrl(pdf.file_id), { token: alice.token, lastEventId: firstId });
    assert.deepEqual(missed.events.map((event) => [event.id, event.data]), full.events.slice(1).map((event) => [event.id, event.data]));
  });

  test('a file already finished answers its final state at once, from the record (even with no stream left)', async () => {
    const redis = createRedisClient(stack.app.config.REDIS_URI, 'test-progress');
    try {
      await redis.del(`${stack.app.config.REDIS_KEY_PREFIX}file-progress:${pdf.file_id}`, `${stack.app.config.REDIS_KEY_PREFIX}file-progress:${corrupt.file_id}`);
    } finally {
      await redis.quit();
    }
    const again = await requestSse(progressUrl(pdf.file_id), { token: alice.token });
    assert.equal(again.completed, true);
    assert.equal(again.events.length, 1);
    assert.deepEqual(again.events[0]!.data, { file_id: pdf.file_id, status: 'ready', chunks: full.events.at(-1)!.data.chunks, final: true });

    // Without the stream a client's position cannot be placed: it gets the end from the record.
    const broken = await requestSse(progressUrl(corrupt.file_id), { token: alice.token, lastEventId: firstId });
    assert.equal(broken.events.length, 1);
    assert.equal(broken.events[0]!.data.status, 'error');
  });

  test('a retried attempt starts its stages again (attempt 2) and never sends a second end frame', async () => {
    const key = randomUUID().slice(0, 8);
    const paragraphs = Array.from({ length: 40 }, (_, index) => `Paragraph ${index + 1}. Each retried ingestion says which attempt it is on, and resumes its embedding where the last one got.`);
    paragraphs.push(`The last paragraph fails once [fail=503 times=1 key=${key}].`);
    const uploaded = await upload(alice.token, new TextEncoder().encode(paragraphs.join('\n\n')), 'retry.md', 'text/markdown');
    const followed = await requestSse(progressUrl(uploaded.file_id), { token: alice.token });
    assert.equal(followed.completed, true);
    const frames = followed.events.map((event) => event.data);
    for (let index = 1; index < followed.events.length; index += 1) assert.ok(seqOf(followed.events[index]!) > seqOf(followed.events[index - 1]!), 'ids increase');
    const retried = frames.findIndex((frame) => frame.attempt === 2);
    assert.ok(retried > 0, `a frame of attempt 2: ${JSON.stringify(frames)}`);
    assert.equal(frames[retried].status, 'extracting');
    // Within each attempt the stages move forward.
    assertInOrder(followed.events.slice(0, retried));
    assertInOrder(followed.events.slice(retried));
    assert.ok(stack.provider.requestCount(key) >= 2);
    assert.equal(frames.filter((frame) => frame.final).length, 1);
    assert.equal(frames.at(-1).status, 'ready');
    assert.equal((await http.get(`/api/files/${uploaded.file_id}`, { token: alice.token })).body.chunks, frames.at(-1).chunks);
  });

  test('another user\'s file, an unknown file and a made-up Last-Event-ID are refused', async () => {
    const foreign = await requestSse(progressUrl(pdf.file_id), { token: bob.token });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.events.length, 0);
    assert.equal((await requestSse(progressUrl(randomUUID()), { token: alice.token })).status, 404);
    assert.equal((await requestSse(progressUrl(pdf.file_id), { token: alice.token, lastEventId: 'latest' })).status, 400);
    assert.equal((await fetch(progressUrl(pdf.file_id))).status, 401);
  });
});
