/**
 * buildPrompt with attached files, against the real database and local file storage: what the HTTP tests
 * (test/files-in-prompt.test.ts) cannot make happen on demand — a file that never finishes within the wait,
 * a file larger than the context window leaves room for, more images than a prompt takes, an image whose
 * object is gone.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Types } from 'mongoose';
import { afterAll, beforeAll, test } from 'vitest';
import { MAX_PROMPT_IMAGES } from '../activities/chat/attached-files.ts';
import { buildPrompt } from '../activities/chat/build-prompt.ts';
import { createFileStorages } from '../activities/files/storage/create-file-storage.ts';
import type { ChatRunInput } from '../shared/chat-run.ts';
import { loadConfig, type Config } from '../shared/config.ts';
import { connectDatabase } from '../shared/database.ts';
import type { EndpointsConfig, ResolvedEndpoint } from '../shared/endpoints-config.ts';
import { loadFileEnvironment, resolveFilesConfig } from '../shared/file-config.ts';
import { File } from '../shared/models/file.ts';
import { demoTurnInput } from './helpers/chat-run-input.ts';
import { pngBytes } from './helpers/file-fixtures.ts';
import { cleanUpTestData, testEnvironment } from './helpers/test-app.ts';

let config: Config;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durachat-prompt-attachments-'));
const storages = createFileStorages({ dataDir, environment: loadFileEnvironment({}) });
const userId = new Types.ObjectId().toString();
// A tokenizer stand-in that is exact for ASCII at one token per byte (the bound buildPrompt relies on).
const countTokens = async (texts: string[]) => texts.map((text) => Buffer.byteLength(text));

beforeAll(async () => {
  config = loadConfig(testEnvironment());
  await connectDatabase(config.MONGO_URI);
});
afterAll(async () => {
  await cleanUpTestData(config);
  rmSync(dataDir, { recursive: true, force: true });
});

const endpoint = (maxContextTokens: number) => ({ name: 'demo', type: 'custom', models: ['demo-fast'], maxContextTokens }) as ResolvedEndpoint;

function newMessageInput(text: string, fileIds: string[]): ChatRunInput {
  const input = demoTurnInput(text, { userId });
  return { ...input, userMessage: { ...input.userMessage!, files: fileIds.map((file_id) => ({ file_id })) } } as unknown as ChatRunInput;
}

async function fileRecord(fields: { filename: string; type: string; status: string; text?: string; bytes?: number; error?: string }, content?: Uint8Array) {
  const fileId = randomUUID();
  const storageKey = `${userId}/${fileId}`;
  if (content) await storages('local').put(storageKey, Readable.from([Buffer.from(content)]), { contentType: fields.type, maxBytes: 10_000_000 });
  await File.create({ user: userId, file_id: fileId, filepath: `/files/${fileId}`, storageKey, bytes: content?.length ?? fields.bytes ?? 100, source: 'local', ...fields });
  return fileId;
}

test('a file still being processed when the wait ends, and a failed one, are each named in one line; the prompt is built', async () => {
  const pending = await fileRecord({ filename: 'slow.pdf', type: 'application/pdf', status: 'extracting' });
  const failed = await fileRecord({ filename: 'bad.docx', type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', status: 'error', error: 'The Word document is damaged.' });
  const prompt = await buildPrompt(newMessageInput('read these', [pending, failed]), endpoint(100_000), { countTokens, attachmentWaitMs: 300 });
  assert.equal(prompt.length, 1);
  assert.equal(prompt[0]!.content, 'Attached file "slow.pdf" could not be read: it is still being processed.\n\nAttached file "bad.docx" could not be read: The Word document is damaged.\n\nread these');
});

test('a file whose text arrives during the wait is sent', async () => {
  const fileId = await fileRecord({ filename: 'soon.txt', type: 'text/plain', status: 'pending' });
  setTimeout(() => void File.updateOne({ file_id: fileId }, { $set: { text: 'Arrived in time.', status: 'extracting' } }).exec(), 400);
  const prompt = await buildPrompt(newMessageInput('go', [fileId]), endpoint(100_000), { countTokens, attachmentWaitMs: 20_000 });
  assert.equal(prompt[0]!.content, 'Attached file "soon.txt":\nArrived in time.\n\ngo');
});

test('a file larger than the context window leaves room for is cut to fit, not refused as too long', async () => {
  const fileId = await fileRecord({ filename: 'big.txt', type: 'text/plain', status: 'ready', text: 'x '.repeat(5000) });
  // 2,000 tokens of context, 1,024 kept for the reply: under 1,000 for the file and the question.
  const prompt = await buildPrompt(newMessageInput('summarise', [fileId]), endpoint(2000), { countTokens });
  const content = prompt[0]!.content;
  assert.match(content, /^Attached file "big\.txt" \(truncated to its first \d+ tokens to fit the model's context window\):\nx x/);
  assert.ok(Buffer.byteLength(content) + 4 <= 2000 - 1024, `the prompt fits: ${Buffer.byteLength(content)} bytes`);
});

test('images: read from storage onto the user message, at most the limit (the newest), a missing object named', async () => {
  // The first is planned but its object is gone; the limit's worth of others follow, the last one too many.
  const gone = await fileRecord({ filename: 'gone.webp', type: 'image/webp', status: 'ready', bytes: 2048 });
  const images: string[] = [];
  for (let index = 0; index < MAX_PROMPT_IMAGES; index += 1) images.push(await fileRecord({ filename: `dot-${index}.png`, type: 'image/png', status: 'ready' }, pngBytes));
  const big = await fileRecord({ filename: 'huge.jpg', type: 'image/jpeg', status: 'ready', bytes: 6 * 1024 * 1024 });
  const prompt = await buildPrompt(newMessageInput('describe the image', [gone, ...images, big]), endpoint(100_000), { countTokens, fileStorages: storages });
  const message = prompt[0]!;
  assert.equal(message.role, 'user');
  const sent = message.role === 'user' ? (message.images ?? []) : [];
  assert.equal(sent.length, MAX_PROMPT_IMAGES - 1);
  assert.deepEqual(sent[0], { mimeType: 'image/png', data: Buffer.from(pngBytes).toString('base64') });
  assert.match(message.content, new RegExp(`Attached image "dot-${MAX_PROMPT_IMAGES - 1}\\.png" was not sent: at most ${MAX_PROMPT_IMAGES} images are sent at once\\.`));
  assert.match(message.content, /Attached image "huge\.jpg" was not sent: it is larger than 5 MB\./);
  assert.match(message.content, /Attached image "gone\.webp" could not be read: it is missing from storage\./);
  assert.ok(message.content.endsWith('describe the image'));
});

test('one fileTokenLimit for all files of the prompt: the first file takes what it needs, a later one is cut or left out', async () => {
  const endpoints = { files: resolveFilesConfig({ fileConfig: { fileTokenLimit: 100 } }) } as EndpointsConfig;
  const first = await fileRecord({ filename: 'a.txt', type: 'text/plain', status: 'ready', text: 'a'.repeat(60) });
  const second = await fileRecord({ filename: 'b.txt', type: 'text/plain', status: 'ready', text: 'b '.repeat(100) });
  const third = await fileRecord({ filename: 'c.txt', type: 'text/plain', status: 'ready', text: 'c'.repeat(10) });
  const prompt = await buildPrompt(newMessageInput('q', [first, second, third]), endpoint(100_000), { countTokens, endpoints });
  const [a, b, c] = prompt[0]!.content.split('\n\n');
  assert.equal(a, `Attached file "a.txt":\n${'a'.repeat(60)}`);
  assert.match(b!, /^Attached file "b\.txt" \(truncated to its first 40 tokens: attached files may use 100 tokens in all\):\nb b /);
  assert.ok(Buffer.byteLength(b!.split('\n')[1]!) <= 40);
  assert.equal(c, 'Attached file "c.txt" was left out: attached files may use 100 tokens in all, and earlier files used them.');
});
