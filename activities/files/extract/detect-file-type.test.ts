import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, test } from 'vitest';
import { makeDocx, makePdf, makeXlsx, makeZip, pngBytes, text } from '../../../test/helpers/file-fixtures.ts';
import { detectFileType, detectFileTypeOfPath } from './detect-file-type.ts';

const directory = await mkdtemp(join(tmpdir(), 'durachat-detect-'));
afterAll(() => rm(directory, { recursive: true, force: true }));

test('names and declared types that lie are overruled by the content', () => {
  assert.equal(detectFileType(makePdf([['x']]), 'notes.txt', 'text/plain').format, 'pdf');
  assert.equal(detectFileType(text('plain words'), 'x.pdf', 'application/pdf').format, 'text');
  assert.equal(detectFileType(makeDocx(['x']), 'sheet.xlsx', '').format, 'docx');
  const png = detectFileType(pngBytes, 'report.pdf', 'application/pdf');
  assert.deepEqual([png.format, png.mimeType], [undefined, 'image/png']);
});

test('OOXML is told apart by its entries; other archives are not text', async () => {
  const xlsx = detectFileType(await makeXlsx({ One: [['a']] }), 'upload', '');
  assert.deepEqual([xlsx.format, xlsx.mimeType], ['xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet']);
  assert.ok(xlsx.zipEntries!.some((entry) => entry.name === 'xl/workbook.xml'));
  assert.equal(detectFileType(makeZip({ 'ppt/presentation.xml': '<p/>' }), 'deck.pptx').format, undefined);
  assert.equal(detectFileType(makeZip({ 'readme.txt': 'hi' }), 'archive.docx').description, 'a ZIP archive');
  // A truncated DOCX has no central directory: the local headers still show `word/`.
  const whole = makeDocx(['x'.repeat(5000)]);
  assert.equal(detectFileType(whole.subarray(0, whole.byteLength - 40), 'cut.bin').format, 'docx');
});

test('text kinds come from the extension or declared type once the bytes are text', () => {
  assert.equal(detectFileType(text('# Title'), 'a.md').format, 'markdown');
  assert.equal(detectFileType(text('a,b\n1,2'), 'a.csv').format, 'csv');
  assert.equal(detectFileType(text('{"a":1}'), 'a', 'application/json').format, 'json');
  assert.equal(detectFileType(text('def f(): pass'), 'main.py').format, 'code');
  assert.equal(detectFileType(text('  <!DOCTYPE html><p>x'), 'page', '').format, 'html');
  assert.equal(detectFileType(new Uint8Array([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00]), 'utf16.txt').format, 'text');
  assert.equal(detectFileType(new Uint8Array(), 'empty.txt').format, 'text');
  assert.equal(detectFileType(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), 'tool.sh').format, undefined);
  assert.equal(detectFileType(new Uint8Array([1, 2, 3, 0, 5, 6, 7, 8]), 'data.txt').description, 'a binary file');
});

test('detection on disk reads only the head and the tail, and finds a large XLSX', async () => {
  const rows = Array.from({ length: 20_000 }, (_, index) => [`row ${index}`, Math.sin(index).toString(36)]);
  const bytes = await makeXlsx({ Big: rows });
  assert.ok(bytes.byteLength > 64 * 1024, `fixture is ${bytes.byteLength} bytes`);
  const path = join(directory, 'renamed.txt');
  await writeFile(path, bytes);
  assert.equal((await detectFileTypeOfPath(path, 'renamed.txt', 'text/plain')).format, 'xlsx');
  const pdfPath = join(directory, 'doc.bin');
  await writeFile(pdfPath, makePdf([['x']]));
  assert.equal((await detectFileTypeOfPath(pdfPath, 'doc.bin')).format, 'pdf');
});
