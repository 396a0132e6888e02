/**
 * Uploads over real HTTP into a real storage: the same suite on local disk and on an S3-compatible server
 * (s3rver from npm, in this process). Fixture bytes are made here: a PDF, a PNG, an ELF header, text.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { fileConfigSchema, mergeFileConfig, type TFile } from 'librechat-data-provider';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { parse, stringify } from 'yaml';
import type { ChildProcess } from 'node:child_process';
import { startFakeProvider, type FakeProvider } from '../workers/demo-provider/openai-compatible-server.ts';
import { spawnEntryPoint } from './helpers/chat-stack.ts';
import { outputLine, stopGently } from './helpers/child-stack.ts';
import { createHttpClient, registerAndLogin, type HttpClient } from './helpers/http-client.ts';
import { startS3TestServer, type S3TestServer } from './helpers/s3-test-server.ts';
import { cleanUpTestData, startTestApp, type TestApp } from './helpers/test-app.ts';

const MB = 1024 * 1024;
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0', 'latin1')]);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(56)]);

/** The repo's librechat.yaml with this suite's strategy and small limits (MB, as an admin writes them). */
async function writeTestConfig(directory: string, strategy: 'local' | 's3') {
  const document = parse(await readFile('librechat.yaml', 'utf8'));
  document.fileStrategy = strategy;
  document.fileConfig = {
    serverFileSizeLimit: 120,
    endpoints: {
      default: { fileSizeLimit: 5 },
      big: { fileSizeLimit: 120 },
      textonly: { supportedMimeTypes: ['^text/.*$'] },
      closed: { disabled: true },
    },
  };
  const file = path.join(directory, 'librechat.yaml');
  await writeFile(file, stringify(document));
  return file;
}

interface UploadOptions {
  token: string;
  content: Buffer;
  filename: string;
  type?: string;
  fields?: Record<string, string>;
  /** Fields after the file part (LibreChat's client sends some after it). */
  fieldsAfter?: Record<string, string>;
  route?: '/api/files' | '/api/files/images';
}

function uploader(baseUrl: string) {
  return async function upload(options: UploadOptions) {
    const form = new FormData();
    const fields = { file_id: randomUUID(), endpoint: 'demo', ...options.fields };
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([new Uint8Array(options.content)], { type: options.type ?? 'application/octet-stream' }), options.filename);
    for (const [name, value] of Object.entries(options.fieldsAfter ?? {})) form.append(name, value);
    const response = await fetch(`${baseUrl}${options.route ?? '/api/files'}`, { method: 'POST', headers: { authorization: `Bearer ${options.token}` }, body: form });
    return { status: response.status, body: (await response.json()) as any, temp_file_id: fields.file_id };
  };
}

/**
 * A multipart body of `size` bytes made as it is sent: the test process holds no copy of it. `sent()` says
 * how many file bytes had been handed to fetch so far; `signal` stops sending.
 */
function streamedUpload(baseUrl: string, token: string, size: number, endpoint: string, progress: { sent?: number } = {}, signal?: AbortSignal) {
  const boundary = `----durachat${randomUUID()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="endpoint"\r\n\r\n${endpoint}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file_id"\r\n\r\n${randomUUID()}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) controller.enqueue(head);
      if (sent >= size) {
        controller.enqueue(tail);
        controller.close();
        return;
      }
      const next = Math.min(chunk.length, size - sent);
      sent += next;
      progress.sent = sent;
      controller.enqueue(next === chunk.length ? chunk : chunk.subarray(0, next));
    },
  });
  return fetch(`${baseUrl}/api/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: 'half',
    signal,
  } as RequestInit);
}

/** The highest RSS seen while `work` runs, minus the RSS before it. */
async function rssGrowth(work: () => Promise<void>): Promise<number> {
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}

interface Suite {
  app: TestApp;
  /** The object keys stored for a user, whatever the strategy. */
  storedKeys: (userId: string) => Promise<string[]>;
}

let database: TestApp['config'] | undefined;
let s3: S3TestServer | undefined;
afterAll(async () => {
  await s3?.close();
  if (database) await cleanUpTestData(database);
});

function fileSuite(strategy: 'local' | 's3') {
  describe(`files on ${strategy} storage`, () => {
    let suite: Suite;
    let directory: string;
    let http: HttpClient;
    let upload: ReturnType<typeof uploader>;
    let alice: Awaited<ReturnType<typeof registerAndLogin>>;
    let bob: Awaited<ReturnType<typeof registerAndLogin>>;
    let worker: ChildProcess | undefined;
    let provider: FakeProvider | undefined;

    beforeAll(async () => {
      directory = await mkdtemp(path.join(tmpdir(), `durachat-files-${strategy}-`));
      if (strategy === 's3') {
        s3 = await startS3TestServer();
        Object.assign(process.env, s3.environment);
      }
      provider = await startFakeProvider();
      const overrides = { CONFIG_PATH: await writeTestConfig(directory, strategy), DATA_DIR: directory, DEMO_PROVIDER_URL: provider.url };
      const app = await startTestApp(overrides);
      // Ingestion and deletion are workflows: a worker for the files queue, in its own process (this process's
      // memory is what the upload tests measure).
      worker = spawnEntryPoint('workers/worker.ts', { ...overrides, WORKER_QUEUES: 'files' });
      await outputLine(worker, /worker serving/, 60_000);
      database = app.config;
      const root = path.join(directory, 'uploads');
      suite = {
        app,
        storedKeys:
          strategy === 'local'
            ? async (userId) => [
                ...(await readdir(path.join(root, userId)).catch(() => [])).map((name) => `${userId}/${name}`),
                ...(await readdir(path.join(root, '.partial')).catch(() => [])).map((name) => `.partial/${name}`),
              ]
            : async (userId) => ((await s3!.client.send(new ListObjectsV2Command({ Bucket: s3!.bucket, Prefix: `uploads/${userId}/` }))).Contents ?? []).map((object) => object.Key!),
      };
      http = createHttpClient(app.baseUrl);
      upload = uploader(app.baseUrl);
      alice = await registerAndLogin(http, 'alice');
      bob = await registerAndLogin(http, 'bob');
    });
    afterAll(async () => {
      if (worker) await stopGently(worker);
      await provider?.close();
      await suite.app.close();
      await rm(directory, { recursive: true, force: true });
    });

    test('an upload answers at once with the file record (pending), stored under a server-made id', async () => {
      const content = Buffer.from('# Notes\n\nDurable files, one workflow each.\n');
      const response = await upload({ token: alice.token, content, filename: 'notes.md', type: 'text/markdown' });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const file = response.body as TFile & { message: string; status: string };
      assert.equal(file.message, 'File uploaded and processed successfully');
      assert.match(file.file_id, /^[0-9a-f-]{36}$/);
      assert.notEqual(file.file_id, response.temp_file_id);
      assert.equal(file.temp_file_id, response.temp_file_id);
      assert.equal(file.bytes, content.length);
      assert.equal(file.filename, 'notes.md');
      assert.equal(file.type, 'text/markdown');
      assert.equal(file.object, 'file');
      assert.equal(file.embedded, false);
      assert.equal(file.usage, 0);
      assert.equal(file.source, strategy);
      assert.equal(file.user, alice.user.id);
      assert.equal(file.status, 'pending');
      assert.equal(file.filepath, `/api/files/download/${alice.user.id}/${file.file_id}`);
      assert.deepEqual(await suite.storedKeys(alice.user.id), [strategy === 's3' ? `uploads/${alice.user.id}/${file.file_id}` : `${alice.user.id}/${file.file_id}`]);

      const listed = await http.get<TFile[]>('/api/files', { token: alice.token });
      assert.deepEqual(listed.body.map((entry) => entry.file_id), [file.file_id]);
      const polled = await http.get('/api/files/' + file.file_id, { token: alice.token });
      assert.equal(polled.status, 200);
      // Its ingestion workflow has started by now (the worker runs beside this test): any stage of it.
      assert.ok(['pending', 'extracting', 'embedding', 'ready'].includes(polled.body.status), polled.body.status);

      const download = await fetch(`${suite.app.baseUrl}${file.filepath}`, { headers: { authorization: `Bearer ${alice.token}` } });
      assert.equal(download.status, 200);
      assert.equal(download.headers.get('content-type'), 'application/octet-stream');
      assert.equal(download.headers.get('content-disposition'), `attachment; filename*=UTF-8''notes.md`);
      assert.equal(JSON.parse(download.headers.get('x-file-metadata')!).file_id, file.file_id);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), content);
    });

    test("another user's file is 404 to read or download and 403 to delete; it stays", async () => {
      // LibreChat's client sends the name URI-encoded.
      const mine = (await upload({ token: alice.token, content: PDF, filename: encodeURIComponent('private report é.pdf'), type: 'application/pdf' })).body;
      assert.equal(mine.type, 'application/pdf');
      assert.equal(mine.filename, 'private report é.pdf');
      assert.equal((await http.get(`/api/files/${mine.file_id}`, { token: bob.token })).status, 404);
      assert.equal((await http.get(`/api/files/download/${alice.user.id}/${mine.file_id}`, { token: bob.token })).status, 404);
      assert.equal((await http.get(`/api/files/download/${bob.user.id}/${mine.file_id}`, { token: bob.token })).status, 404);
      assert.ok(!(await http.get<TFile[]>('/api/files', { token: bob.token })).body.some((file) => file.file_id === mine.file_id));
      const refused = await http.delete('/api/files', { token: bob.token, body: { files: [{ file_id: mine.file_id, filepath: mine.filepath }] } });
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.body, { message: 'You can only delete files you have access to', unauthorizedFiles: [mine.file_id] });
      assert.equal((await http.get(`/api/files/${mine.file_id}`, { token: alice.token })).status, 200);
      // Unicode names survive the download headers.
      const download = await http.get(`/api/files/download/${alice.user.id}/${mine.file_id}`, { token: alice.token });
      assert.equal(download.headers.get('content-disposition'), `attachment; filename*=UTF-8''private%20report%20%C3%A9.pdf`);
      assert.equal(JSON.parse(download.headers.get('x-file-metadata')!).filename, 'private report é.pdf');
    });

    test('delete removes the object and the record, and deleting again succeeds', async () => {
      const user = await registerAndLogin(http, 'deleter');
      const file = (await upload({ token: user.token, content: Buffer.from('bye'), filename: 'bye.txt', type: 'text/plain' })).body;
      assert.equal((await suite.storedKeys(user.user.id)).length, 1);
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const deleted = await http.delete('/api/files', { token: user.token, body: { files: [{ file_id: file.file_id, filepath: file.filepath }] } });
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
        assert.equal(deleted.body.message, 'Files deleted successfully');
      }
      assert.deepEqual(await suite.storedKeys(user.user.id), []);
      assert.equal((await http.get(`/api/files/${file.file_id}`, { token: user.token })).status, 404);
      assert.equal((await http.delete('/api/files', { token: user.token, body: { files: [{ file_id: 'not a uuid' }] } })).status, 400);
    });

    test('a file whose name lies is judged by its content', async () => {
      const user = await registerAndLogin(http, 'liar');
      // A PNG named and sent as text: stored as the PNG it is.
      const png = await upload({ token: user.token, content: PNG, filename: 'notes.txt', type: 'text/plain' });
      assert.equal(png.status, 200, JSON.stringify(png.body));
      assert.equal(png.body.type, 'image/png');
      // ...and refused where only text is allowed, with what it really is in the message; nothing is left.
      const refused = await upload({ token: user.token, content: PNG, filename: 'notes.txt', type: 'text/plain', fields: { endpoint: 'textonly' } });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.message, 'Unsupported file type: image/png (its content is image/png, though it was sent as text/plain)');
      // An executable sent as a PDF: no known type at all.
      const binary = await upload({ token: user.token, content: ELF, filename: 'invoice.pdf', type: 'application/pdf' });
      assert.equal(binary.status, 400);
      assert.match(binary.body.message, /^Unsupported file type: application\/octet-stream/);
      // Fields after the file: judged once they arrive, and the stored object is removed again.
      const late = await upload({ token: user.token, content: PNG, filename: 'a.txt', type: 'text/plain', fields: { endpoint: '' }, fieldsAfter: { endpoint: 'textonly' } });
      assert.equal(late.status, 400);
      assert.match(late.body.message, /^Unsupported file type: image\/png/);
      const disabled = await upload({ token: user.token, content: Buffer.from('hi'), filename: 'a.txt', type: 'text/plain', fields: { endpoint: 'closed' } });
      assert.equal(disabled.status, 400);
      assert.equal(disabled.body.message, 'File uploads are disabled for the closed endpoint');
      assert.deepEqual(await suite.storedKeys(user.user.id), [strategy === 's3' ? `uploads/${user.user.id}/${png.body.file_id}` : `${user.user.id}/${png.body.file_id}`]);
    });

    test('required fields: file_id a UUID, an endpoint, width and height on /images (an image)', async () => {
      const user = await registerAndLogin(http, 'fields');
      const noId = await upload({ token: user.token, content: PNG, filename: 'a.png', fields: { file_id: 'nope' } });
      assert.equal(noId.status, 400);
      assert.match(noId.body.message, /^file_id: /);
      const noSize = await upload({ token: user.token, content: PNG, filename: 'a.png', route: '/api/files/images' });
      assert.equal(noSize.status, 400);
      assert.match(noSize.body.message, /^width: /);
      const text = await upload({ token: user.token, content: Buffer.from('text'), filename: 'a.png', type: 'image/png', route: '/api/files/images', fields: { width: '1', height: '1' } });
      assert.equal(text.status, 400);
      const image = await upload({ token: user.token, content: PNG, filename: 'a.png', type: 'image/png', route: '/api/files/images', fields: { width: '1', height: '1' } });
      assert.equal(image.status, 200, JSON.stringify(image.body));
      assert.equal(image.body.width, 1);
      assert.equal(image.body.height, 1);
      const empty = await upload({ token: user.token, content: Buffer.alloc(0), filename: 'a.txt' });
      assert.equal(empty.status, 400);
      assert.equal(empty.body.message, 'Empty file uploaded');
      // One file per upload.
      const form = new FormData();
      form.append('endpoint', 'demo');
      form.append('file_id', randomUUID());
      form.append('file', new Blob(['one']), 'one.txt');
      form.append('file', new Blob(['two']), 'two.txt');
      const two = await fetch(`${suite.app.baseUrl}/api/files`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` }, body: form });
      assert.equal(two.status, 413);
      assert.equal((await suite.storedKeys(user.user.id)).length, 1);
    });

    test('an oversize upload is cut off at the limit: 413, nothing stored, memory flat', async () => {
      const user = await registerAndLogin(http, 'big');
      // A 1 GB body: the answer must come while it is still being sent, soon after the 5 MB limit.
      const progress: { sent?: number } = {};
      const stop = new AbortController();
      let response: Response | undefined;
      let sentAtAnswer = 0;
      const growth = await rssGrowth(async () => {
        response = await streamedUpload(suite.app.baseUrl, user.token, 1024 * MB, 'demo', progress, stop.signal);
        sentAtAnswer = progress.sent ?? 0;
      });
      assert.equal(response!.status, 413);
      assert.equal(((await response!.json()) as { message: string }).message, 'File exceeds the maximum allowed size of 5 MB');
      stop.abort();
      assert.ok(sentAtAnswer < 30 * MB, `the answer came after ${(sentAtAnswer / MB).toFixed(1)} MB were sent`);
      assert.deepEqual(await suite.storedKeys(user.user.id), []);
      assert.ok(growth < 30 * MB, `RSS grew by ${(growth / MB).toFixed(1)} MB during the upload`);
      // The endpoint named after the file: stored up to the server limit, then refused and removed.
      const late = await upload({ token: user.token, content: Buffer.alloc(6 * MB, 0x61), filename: 'a.txt', type: 'text/plain', fields: { endpoint: '' }, fieldsAfter: { endpoint: 'demo' } });
      assert.equal(late.status, 413);
      assert.deepEqual(await suite.storedKeys(user.user.id), []);
    });

    test('a 100 MB upload within the limit streams through without holding it in memory', async () => {
      const user = await registerAndLogin(http, 'bigok');
      let response: Response | undefined;
      const growth = await rssGrowth(async () => {
        response = await streamedUpload(suite.app.baseUrl, user.token, 100 * MB, 'big');
      });
      const body = (await response!.json()) as TFile;
      assert.equal(response!.status, 200, JSON.stringify(body));
      assert.equal(body.bytes, 100 * MB);
      // Holding the upload would add at least its 100 MB; streaming costs a few parts and the GC's slack.
      assert.ok(growth < 60 * MB, `RSS grew by ${(growth / MB).toFixed(1)} MB during a 100 MB upload`);
    });

    test('agent uploads: EDIT needed, the file joins the tool resource, the agent lists it', async () => {
      const created = await http.post('/api/agents', { token: alice.token, body: { name: 'Reader', provider: 'demo', model: 'demo-fast' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const agentId = created.body.id as string;
      const fields = { tool_resource: 'file_search', agent_id: agentId, endpoint: 'agents' };
      const attached = await upload({ token: alice.token, content: PDF, filename: 'manual.pdf', type: 'application/pdf', fields });
      assert.equal(attached.status, 200, JSON.stringify(attached.body));
      const agent = await http.get(`/api/agents/${agentId}/expanded`, { token: alice.token });
      assert.ok(agent.body.tools.includes('file_search'));
      assert.deepEqual(agent.body.tool_resources.file_search.file_ids, [attached.body.file_id]);
      const listed = await http.get<TFile[]>(`/api/files/agent/${agentId}`, { token: alice.token });
      assert.deepEqual(listed.body.map((file) => file.file_id), [attached.body.file_id]);

      assert.equal((await http.get(`/api/files/agent/${agentId}`, { token: bob.token })).status, 404);
      const intruder = await upload({ token: bob.token, content: PDF, filename: 'x.pdf', type: 'application/pdf', fields });
      assert.equal(intruder.status, 404);
      const image = await upload({ token: alice.token, content: PNG, filename: 'x.png', type: 'image/png', fields });
      assert.equal(image.status, 400);
      assert.deepEqual((await suite.storedKeys(bob.user.id)).filter((key) => key.includes('x.pdf')), []);
      assert.equal((await http.get(`/api/agents/${agentId}/expanded`, { token: alice.token })).body.tool_resources.file_search.file_ids.length, 1);

      // Unlinking from the agent leaves the file.
      const unlinked = await http.delete('/api/files', { token: alice.token, body: { files: [{ file_id: attached.body.file_id }], agent_id: agentId, tool_resource: 'file_search' } });
      assert.equal(unlinked.status, 200, JSON.stringify(unlinked.body));
      assert.deepEqual((await http.get(`/api/agents/${agentId}/expanded`, { token: alice.token })).body.tool_resources.file_search.file_ids, []);
      assert.equal((await http.get(`/api/files/${attached.body.file_id}`, { token: alice.token })).status, 200);
    });

    test('GET /api/files/config is the YAML section, which the client merges into bytes', async () => {
      const response = await http.get('/api/files/config', { token: alice.token });
      assert.equal(response.status, 200);
      const merged = mergeFileConfig(fileConfigSchema.parse(response.body));
      assert.equal(merged.serverFileSizeLimit, 120 * MB);
      assert.equal(merged.endpoints.default!.fileSizeLimit, 5 * MB);
      assert.equal(merged.endpoints.closed!.disabled, true);
      assert.equal((await http.get('/api/files/config')).status, 401);
    });
  });
}

fileSuite('local');
fileSuite('s3');
