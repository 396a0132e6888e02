/**
 * `npm run bench -- --ingestion`: file ingestion on the bench stack (bench-stack.ts: the real API, worker and
 * demo provider as processes; Temporal, FerretDB, LanceDB in .data/bench).
 *
 * - throughput: a generated 100-page PDF and a 10 MB CSV, each timed from the start of its upload until the
 *   file reads `ready` (GET /api/files/:id polled every 50 ms): pages/s and MB/s, beside the bare extraction
 *   (extractText, and extractText + chunking with a warm tokenizer, in this process) of the same bytes;
 * - memory: the API's peak RSS while it receives a 200 MB upload, streamed by this process (a temp
 *   librechat.yaml raises the limits to 300 MB). The upload is a PNG (stored, not ingested), so the API's
 *   memory is all that is measured. The API's VmHWM is reset (/proc/<pid>/clear_refs) before the upload.
 *
 * Options: --csv-mb 10, --pages 100, --big-mb 200.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chunkDocument } from '../activities/files/chunk/chunk-document.ts';
import { extractText } from '../activities/files/extract/index.ts';
import { makeCsv, makePdf, pngBytes } from '../test/helpers/file-fixtures.ts';
import { argument, root, startBenchStack } from './bench-stack.ts';
import { peakRssMiB } from './process-stats.ts';

const MiB = 1024 * 1024;
const pages = Number(argument('pages', '100'));
const csvMb = Number(argument('csv-mb', '10'));
const bigMb = Number(argument('big-mb', '200'));

function benchPdf(count: number): Uint8Array {
  return makePdf(
    Array.from({ length: count }, (_, page) =>
      Array.from({ length: 40 }, (_, line) => `Page ${page + 1}, line ${line + 1}: durable ingestion extracts, chunks, embeds and indexes every uploaded file.`),
    ),
  );
}

function benchCsv(megabytes: number): Uint8Array {
  const rows = [['id', 'region', 'warehouse', 'note']];
  let bytes = 0;
  for (let row = 0; bytes < megabytes * MiB; row += 1) {
    const cells = [String(row), `region-${row % 17}`, `warehouse-${row % 41}`, `order ${row} shipped after inspection ${(row * 7) % 1000} with ${row % 9} parcels`];
    bytes += cells.join(',').length + 2;
    rows.push(cells);
  }
  return makeCsv(rows);
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'durachat-ingestion-bench-'));
  // The repository's librechat.yaml with the `big` limits: 300 MB per file on the server and by default.
  const configPath = path.join(work, 'librechat.yaml');
  writeFileSync(configPath, `${readFileSync(path.join(root, 'librechat.yaml'), 'utf8')}\nfileConfig:\n  serverFileSizeLimit: 300\n  endpoints:\n    default: { fileSizeLimit: 300, totalSizeLimit: 300 }\n`);
  const stack = await startBenchStack({ environment: { CONFIG_PATH: configPath, FILE_UPLOAD_USER_MAX: '1000', FILE_UPLOAD_IP_MAX: '1000' } });
  const results: string[] = [];
  try {
    const token = await stack.login();
    const api = stack.apis[0]!;
    const authorization = `Bearer ${token}`;

    async function upload(content: Uint8Array, filename: string, type: string) {
      const form = new FormData();
      form.append('file_id', randomUUID());
      form.append('endpoint', 'demo');
      form.append('file', new Blob([content as Uint8Array<ArrayBuffer>], { type }), filename);
      const response = await fetch(`${api.baseUrl}/api/files`, { method: 'POST', headers: { authorization }, body: form });
      const body = (await response.json()) as Record<string, any>;
      if (response.status !== 200) throw new Error(`upload of ${filename}: ${response.status} ${JSON.stringify(body)}`);
      return body;
    }

    async function untilSettled(fileId: string, timeoutMs = 600_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const file = (await (await fetch(`${api.baseUrl}/api/files/${fileId}`, { headers: { authorization } })).json()) as Record<string, any>;
        if (file.status === 'ready' || file.status === 'error') return file;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`file ${fileId} not settled within ${timeoutMs} ms`);
    }

    async function throughput(label: string, content: Uint8Array, filename: string, type: string, pageCount?: number) {
      const local = path.join(work, filename);
      writeFileSync(local, content);
      // The bare extraction of the same bytes, in this process (no pool thread, no storage, no embeddings).
      let started = performance.now();
      const document = await extractText({ path: local, filename, mimeType: type });
      const extractMs = performance.now() - started;
      started = performance.now();
      const chunks = chunkDocument(document, {});
      const chunkMs = performance.now() - started;

      started = performance.now();
      const uploaded = await upload(content, filename, type);
      const uploadMs = performance.now() - started;
      const file = await untilSettled(uploaded.file_id);
      const readyMs = performance.now() - started;
      if (file.status !== 'ready') throw new Error(`${filename} ended ${file.status}: ${file.error}`);
      const mb = content.byteLength / MiB;
      const rate = (ms: number) => `${(mb / (ms / 1000)).toFixed(2)} MB/s${pageCount ? `, ${(pageCount / (ms / 1000)).toFixed(1)} pages/s` : ''}`;
      results.push(
        `${label}: ${mb.toFixed(2)} MB, ${file.chunks} chunks (in-process chunking: ${chunks.length})`,
        `  durachat upload → ready: ${(readyMs / 1000).toFixed(2)} s (upload answered in ${uploadMs.toFixed(0)} ms) = ${rate(readyMs)}`,
        `  bare extractText:        ${(extractMs / 1000).toFixed(2)} s = ${rate(extractMs)}`,
        `  extractText + chunking:  ${((extractMs + chunkMs) / 1000).toFixed(2)} s = ${rate(extractMs + chunkMs)}`,
      );
      console.log(results.slice(-4).join('\n'));
    }

    // The tokenizer's one-time load (about 0.7 s) is kept out of the in-process figures: warmed up first.
    chunkDocument(await extractText({ bytes: Buffer.from('warm up the tokenizer'), filename: 'warm.txt', mimeType: 'text/plain' }), {});
    await throughput(`PDF, ${pages} pages`, benchPdf(pages), 'bench-100-pages.pdf', 'application/pdf', pages);
    await throughput(`CSV, ${csvMb} MB`, benchCsv(csvMb), 'bench-orders.csv', 'text/csv');

    // The 200 MB upload, streamed (never whole in this process either), while the API's RSS is sampled.
    const pid = api.process.pid!;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      results.push('  (could not reset the API\'s VmHWM; it includes earlier peaks)');
    }
    const rssBefore = rssMiB(pid);
    let sampledPeak = rssBefore;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, rssMiB(pid));
    }, 25);
    const boundary = `----durachat-bench-${randomUUID()}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file_id"\r\n\r\n${randomUUID()}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="endpoint"\r\n\r\ndemo\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const bigBytes = bigMb * MiB;
    async function* body() {
      yield head;
      yield Buffer.from(pngBytes);
      const block = Buffer.alloc(MiB, 7);
      let sent = pngBytes.byteLength;
      while (sent < bigBytes) {
        const size = Math.min(block.byteLength, bigBytes - sent);
        yield size === block.byteLength ? block : block.subarray(0, size);
        sent += size;
      }
      yield tail;
    }
    const started = performance.now();
    const response = await fetch(`${api.baseUrl}/api/files`, {
      method: 'POST',
      headers: { authorization, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: body() as unknown as BodyInit,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    const answer = (await response.json()) as Record<string, any>;
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (response.status !== 200) throw new Error(`the ${bigMb} MB upload: ${response.status} ${JSON.stringify(answer)}`);
    results.push(
      `${bigMb} MB upload (image/png, stored as ${(answer.bytes / MiB).toFixed(1)} MB) in ${seconds.toFixed(2)} s = ${(bigMb / seconds).toFixed(1)} MB/s`,
      `  API RSS: ${rssBefore.toFixed(0)} MiB before, peak ${sampledPeak.toFixed(0)} MiB sampled every 25 ms, VmHWM ${peakRssMiB(pid).toFixed(0)} MiB`,
    );
    console.log(results.slice(-2).join('\n'));
  } finally {
    await stack.shutdown();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`\n== ingestion bench (${new Date().toISOString()}) ==\n${results.join('\n')}`);
}

await main();
