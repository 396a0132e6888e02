/**
 * Files attached to a message reach the model (issue 11, item 5): text files as context in the user message
 * (within fileConfig.fileTokenLimit, earlier messages' files re-sent), images as vision input, in plain chats
 * and agent runs. The real API, workers, Temporal and FerretDB; the fake provider's `[echo=user]` answers with
 * the last user message exactly as the model received it, `describe the image` with the images it carried.
 * Files are ingested by their own worker (WORKER_QUEUES=files), so a test can hold ingestion back.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { startChatStack, startInProcessWorker, type ChatStack, type InProcessWorker } from './helpers/chat-stack.ts';
import { makeCorruptPdf, makeCsv, pngBytes, text } from './helpers/file-fixtures.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { finalEvent, requestSse } from './helpers/sse-client.ts';
import { cleanUpTestData, testRunId } from './helpers/test-app.ts';

const FILE_TOKEN_LIMIT = 300;
const configPath = path.join(process.env.DATA_DIR ?? '.data/test', `files-in-prompt-${testRunId}.yaml`);
const demoEndpoint = (name: string, provider?: string) => [
  `    - name: ${name}`,
  ...(provider ? [`      provider: ${provider}`] : []),
  ...(provider === 'bedrock' ? ['      region: us-east-1'] : []),
  '      apiKey: demo',
  `      baseURL: \${${provider ? 'DEMO_PROVIDER_ORIGIN' : 'DEMO_PROVIDER_URL'}}`,
  '      models:',
  '        default: [demo-fast]',
  '      titleConvo: false',
];

let stack: ChatStack;
let filesWorker: InProcessWorker | undefined;
let http: HttpClient;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  writeFileSync(configPath, ['fileConfig:', `  fileTokenLimit: ${FILE_TOKEN_LIMIT}`, 'endpoints:', '  custom:', ...demoEndpoint('demo'), ...demoEndpoint('demo-claude', 'anthropic'), ...demoEndpoint('demo-gemini', 'google'), ...demoEndpoint('demo-bedrock', 'bedrock'), ''].join('\n'));
  stack = await startChatStack({ overrides: { CONFIG_PATH: configPath, WORKER_QUEUES: 'chat,agent,background' } });
  filesWorker = await startInProcessWorker({ ...stack.environment, WORKER_QUEUES: 'files' });
  http = createHttpClient(stack.app.baseUrl);
  alice = await registerAndLogin(http, 'reader');
});
afterAll(async () => {
  await filesWorker?.stop();
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

async function upload(content: Uint8Array, filename: string, type: string, options: { endpoint?: string; image?: { width: number; height: number } } = {}) {
  const form = new FormData();
  form.append('file_id', randomUUID());
  form.append('endpoint', options.endpoint ?? 'demo');
  form.append('message_file', 'true');
  if (options.image) {
    form.append('width', String(options.image.width));
    form.append('height', String(options.image.height));
  }
  form.append('file', new Blob([content as Uint8Array<ArrayBuffer>], { type }), filename);
  const route = options.image ? '/api/files/images' : '/api/files';
  const response = await fetch(`${stack.app.baseUrl}${route}`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}` }, body: form });
  const body = (await response.json()) as Record<string, any>;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

async function settled(fileId: string): Promise<Record<string, any>> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { body } = await http.get(`/api/files/${fileId}`, { token: alice.token });
    if (body.status === 'ready' || body.status === 'error') return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`file ${fileId} did not settle`);
}

function chat(body: { text: string; files?: Array<{ file_id: string }>; endpoint?: string; conversationId?: string | null; parentMessageId?: string }) {
  return requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
    method: 'POST',
    token: alice.token,
    body: { endpoint: body.endpoint ?? 'demo', model: 'demo-fast', conversationId: body.conversationId ?? null, parentMessageId: body.parentMessageId ?? ROOT_PARENT_MESSAGE_ID, text: body.text, ...(body.files ? { files: body.files } : {}) },
    timeoutMs: 120_000,
  });
}

async function replyOf(result: Awaited<ReturnType<typeof chat>>) {
  const final = finalEvent(result.events);
  assert.ok(final, `a final event (got ${result.events.map((event) => event.event).join(', ')}; body ${JSON.stringify(result.body)})`);
  assert.ok(!final.data.responseMessage.error, JSON.stringify(final.data.responseMessage));
  return { text: final.data.responseMessage.text as string, final: final.data };
}

describe('text files as context', () => {
  test('a Markdown and a CSV file attached: the model gets both, named, before the question; the file list shows no text', async () => {
    const markdown = await upload(text('# Launch plan\n\nThe launch moves to the ninth of March, after the audit.\n'), 'plan.md', 'text/markdown');
    const csv = await upload(makeCsv([['city', 'visitors'], ['Lisbon', '1200'], ['Porto', '800']]), 'visits.csv', 'text/csv');
    assert.equal((await settled(markdown.file_id)).status, 'ready');
    assert.equal((await settled(csv.file_id)).status, 'ready');

    const { text: reply, final } = await replyOf(await chat({ text: 'what changed? [echo=user]', files: [{ file_id: csv.file_id }, { file_id: markdown.file_id }] }));
    assert.match(reply, /Attached file "plan\.md":\n# Launch plan\n\nThe launch moves to the ninth of March, after the audit\./);
    assert.match(reply, /Attached file "visits\.csv":\ncity \| visitors\nLisbon \| 1200\nPorto \| 800/);
    // In the order the client attached them (not the order they were uploaded), on the saved message and in the prompt.
    assert.deepEqual((final.requestMessage.files as Array<{ filename: string }>).map((file) => file.filename), ['visits.csv', 'plan.md']);
    assert.ok(reply.indexOf('"visits.csv"') < reply.indexOf('"plan.md"'), 'the files in the order attached');
    assert.ok(reply.endsWith('what changed? [echo=user]'), 'the question comes after the files');
    // The saved user message keeps its own text: the file text is for the model only.
    assert.equal(final.requestMessage.text, 'what changed? [echo=user]');

    // A follow-up without attachments: the earlier message's files are sent again (LibreChat's resendFiles).
    const followUp = await chat({ text: 'and now? [echo=user]', conversationId: final.conversation.conversationId, parentMessageId: final.responseMessage.messageId });
    await replyOf(followUp);
    const seen = stack.provider.lastMessages().filter((message) => message.role === 'user').map((message) => message.content);
    assert.equal(seen.length, 2);
    assert.match(seen[0]!, /Attached file "plan\.md":\n# Launch plan/);
    assert.match(seen[0]!, /Attached file "visits\.csv"/);
    assert.equal(seen[1], 'and now? [echo=user]');

    // The extracted text stays inside: neither the list nor the file itself shows it.
    const listed = await http.get('/api/files', { token: alice.token });
    assert.equal(listed.status, 200);
    const mine = (listed.body as Array<Record<string, unknown>>).filter((file) => file.file_id === markdown.file_id || file.file_id === csv.file_id);
    assert.equal(mine.length, 2);
    for (const file of mine) assert.ok(!('text' in file) && !('textTruncated' in file), `no text in ${JSON.stringify(file)}`);
    const one = await http.get(`/api/files/${markdown.file_id}`, { token: alice.token });
    assert.ok(!('text' in one.body));
    assert.ok(!JSON.stringify(listed.body).includes('ninth of March'));
  });

  test('a file over fileTokenLimit is cut to the limit, and the model is told so', async () => {
    const words = Array.from({ length: 2000 }, (_, index) => `word${index}`);
    const long = await upload(text(`# Long notes\n\n${words.join(' ')}\n`), 'long.md', 'text/markdown');
    assert.equal((await settled(long.file_id)).status, 'ready');
    const { text: reply } = await replyOf(await chat({ text: 'summarise [echo=user]', files: [{ file_id: long.file_id }] }));
    assert.match(reply, new RegExp(`Attached file "long\\.md" \\(truncated to its first \\d+ tokens: attached files may use ${FILE_TOKEN_LIMIT} tokens in all\\):\\n# Long notes\\n\\nword0 word1 word2`));
    assert.ok(!reply.includes('word1999'), 'the end of the file is cut');
    assert.ok(reply.endsWith('summarise [echo=user]'));
  });

  test('a file attached while its ingestion has not run yet is waited for; an unreadable one is named with the reason', async () => {
    const broken = await upload(makeCorruptPdf(), 'broken.pdf', 'application/pdf');
    assert.equal((await settled(broken.file_id)).status, 'error');

    await filesWorker!.stop();
    filesWorker = undefined;
    const late = await upload(text('Late notes: the backup runs at midnight.'), 'late.txt', 'text/plain');
    const sent = chat({ text: 'when does the backup run? [echo=user]', files: [{ file_id: late.file_id }, { file_id: broken.file_id }] });
    // Give the run time to reach its prompt (which then waits), then let ingestion happen.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal((await http.get(`/api/files/${late.file_id}`, { token: alice.token })).body.status, 'pending', 'nothing has ingested the file yet');
    filesWorker = await startInProcessWorker({ ...stack.environment, WORKER_QUEUES: 'files' });
    const { text: reply } = await replyOf(await sent);
    assert.match(reply, /Attached file "late\.txt":\nLate notes: the backup runs at midnight\./);
    assert.match(reply, /Attached file "broken\.pdf" could not be read: .*(damaged|cannot be read|corrupt)/i);
  });
});

describe('images as vision input', () => {
  // The four provider modules: OpenAI's SDK (demo), Anthropic's, Google's and Bedrock's, against the fake servers.
  for (const endpoint of ['demo', 'demo-claude', 'demo-gemini', 'demo-bedrock']) {
    test(`an image uploaded through /api/files/images and attached reaches the model (${endpoint})`, async () => {
      const image = await upload(pngBytes, 'dot.png', 'image/png', { endpoint, image: { width: 1, height: 1 } });
      assert.equal(image.type, 'image/png');
      const { text: reply } = await replyOf(await chat({ endpoint, text: 'please describe the image', files: [{ file_id: image.file_id }] }));
      assert.equal(reply, `I see 1 image(s): image/png ${pngBytes.length} bytes`);
    });
  }

  test('in an agent run (a text file beside it makes the chat one), image and text both reach the model', async () => {
    const image = await upload(pngBytes, 'dot.png', 'image/png', { image: { width: 1, height: 1 } });
    const note = await upload(text('A one-pixel test image.'), 'about.txt', 'text/plain');
    assert.equal((await settled(note.file_id)).status, 'ready');
    const { text: reply } = await replyOf(await chat({ text: 'describe the image', files: [{ file_id: image.file_id }, { file_id: note.file_id }] }));
    assert.equal(reply, `I see 1 image(s): image/png ${pngBytes.length} bytes`);
    const last = stack.provider.lastMessages().filter((message) => message.role === 'user').at(-1)!;
    assert.match(last.content, /Attached file "about\.txt":\nA one-pixel test image\./);
  });
});
