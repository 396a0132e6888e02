import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, test } from 'vitest';
import { makeCorruptPdf, makeCsv, makePdf, pngBytes } from '../../../test/helpers/file-fixtures.ts';
import { BrokenFileError, UnsupportedFileError } from './extraction-errors.ts';
import { createExtractionPool } from './extraction-pool.ts';

const directory = await mkdtemp(join(tmpdir(), 'durachat-extraction-pool-'));
const pool = createExtractionPool({ maxThreads: 1 });
afterAll(async () => {
  await pool.close();
  await rm(directory, { recursive: true, force: true });
});

async function fixture(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, bytes);
  return path;
}

test('extracts and chunks a PDF from disk on a worker thread', async () => {
  const path = await fixture('manual.pdf', makePdf([['Page one about durable ingestion.'], ['Page two about retries.']]));
  const result = await pool.extractFile({ path, filename: 'manual.pdf', mimeType: 'application/pdf' }, { chunking: { chunkTokens: 400, overlapTokens: 60 } });
  assert.notEqual(result.threadId, threadId);
  assert.notEqual(result.threadId, 0);
  assert.deepEqual(result.document.pages.map((page) => page.number), [1, 2]);
  assert.equal(result.chunks?.length, 1);
  assert.deepEqual(result.chunks![0]!.pages, [1, 2]);
  assert.equal(result.chunks![0]!.text, 'Page one about durable ingestion.\n\nPage two about retries.');
});

test('final errors come back as their classes with the user message', async () => {
  const corrupt = await fixture('corrupt.pdf', makeCorruptPdf());
  await assert.rejects(pool.extractFile({ path: corrupt, filename: 'corrupt.pdf', mimeType: 'application/pdf' }), (error: unknown) => {
    assert.ok(error instanceof BrokenFileError, String(error));
    assert.match((error as Error).message, /damaged/);
    return true;
  });
  const image = await fixture('photo.txt', pngBytes);
  await assert.rejects(pool.extractFile({ path: image, filename: 'photo.txt', mimeType: 'text/plain' }), UnsupportedFileError);
});

test('a missing file is a plain (retryable) error, not a final one', async () => {
  await assert.rejects(pool.extractFile({ path: join(directory, 'absent.pdf'), filename: 'absent.pdf', mimeType: '' }), (error: unknown) => {
    assert.ok(!(error instanceof BrokenFileError) && !(error instanceof UnsupportedFileError));
    assert.match(String(error), /ENOENT/);
    return true;
  });
});

test('aborting the signal stops a running extraction, and the pool keeps working', async () => {
  const rows = Array.from({ length: 150_000 }, (_, index) => [`row ${index}`, `value ${index * 7}`, `a note about item number ${index}`]);
  const path = await fixture('big.csv', makeCsv(rows));
  const controller = new AbortController();
  const started = Date.now();
  const running = pool.extractFile({ path, filename: 'big.csv', mimeType: 'text/csv' }, { signal: controller.signal, chunking: {} });
  setTimeout(() => controller.abort(), 300);
  await assert.rejects(running, /abort/i);
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms to stop`);
  const again = await pool.extractFile({ path: await fixture('small.pdf', makePdf([['still works']])), filename: 'small.pdf', mimeType: '' });
  assert.equal(again.document.pages[0]!.text, 'still works');
});
