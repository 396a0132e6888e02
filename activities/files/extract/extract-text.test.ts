import assert from 'node:assert/strict';
import { partsComeAfterSheets } from './extract-xlsx.ts';
import { readZipCentralDirectory } from './zip-entries.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, test } from 'vitest';
import {
  makeCorruptPdf, makeCsv, makeDocx, makePdf, makeXlsx, makeXlsxInOrder, pngBytes, sampleHtml, sampleJson, sampleMarkdown, text,
} from '../../../test/helpers/file-fixtures.ts';
import { BrokenFileError, UnsupportedFileError } from './extraction-errors.ts';
import { extractText } from './extract-text.ts';

const directory = await mkdtemp(join(tmpdir(), 'durachat-extract-'));
afterAll(() => rm(directory, { recursive: true, force: true }));

test('a PDF keeps its pages and page numbers, and its title', async () => {
  const bytes = makePdf([['Durable workflows survive crashes.', 'Second line of page one.'], ['Page two talks about (retries).'], ['Third page.']], { title: 'Ingestion manual' });
  const document = await extractText({ bytes, mimeType: 'application/pdf', filename: 'manual.pdf' });
  assert.equal(document.format, 'pdf');
  assert.deepEqual(document.pages.map((page) => page.number), [1, 2, 3]);
  assert.equal(document.pages[0]!.text, 'Durable workflows survive crashes.\nSecond line of page one.');
  assert.equal(document.pages[1]!.text, 'Page two talks about (retries).');
  assert.equal(document.metadata?.pageCount, 3);
  assert.equal(document.metadata?.title, 'Ingestion manual');
});

test('a PDF read from a path on disk', async () => {
  const path = join(directory, 'from-disk.pdf');
  await writeFile(path, makePdf([['alpha'], ['beta']]));
  const document = await extractText({ path, mimeType: 'application/pdf', filename: 'from-disk.pdf' });
  assert.deepEqual(document.pages, [{ number: 1, text: 'alpha' }, { number: 2, text: 'beta' }]);
});

test('a DOCX yields its paragraphs separated by blank lines', async () => {
  const bytes = makeDocx(['# Quarterly report', 'Revenue grew by 12 percent.', 'Costs & risks are listed below.']);
  const document = await extractText({ bytes, mimeType: 'application/octet-stream', filename: 'report.docx' });
  assert.equal(document.format, 'docx');
  assert.equal(document.pages.length, 1);
  assert.equal(document.pages[0]!.text, 'Quarterly report\n\nRevenue grew by 12 percent.\n\nCosts & risks are listed below.');
});

test('an XLSX gives one page per sheet, labelled with the sheet name, header kept', async () => {
  const bytes = await makeXlsx({
    Sales: [['Region', 'Revenue', 'Closed'], ['North', 1200, new Date(Date.UTC(2024, 0, 31))], ['South', 800.5, true]],
    Notes: [['Remark'], ['Line breaks\ninside a cell']],
  });
  const path = join(directory, 'book.xlsx');
  await writeFile(path, bytes);
  for (const input of [{ bytes }, { path }]) {
    const document = await extractText({ ...input, mimeType: '', filename: 'book.xlsx' });
    assert.equal(document.format, 'xlsx');
    assert.deepEqual(document.pages.map((page) => [page.number, page.label]), [[1, 'Sales'], [2, 'Notes']]);
    assert.equal(document.pages[0]!.text, 'Region | Revenue | Closed\nNorth | 1200 | 2024-01-31\nSouth | 800.5 | true');
    assert.equal(document.pages[0]!.header, 'Region | Revenue | Closed');
    assert.equal(document.pages[1]!.text, 'Remark\nLine breaks inside a cell');
  }
});

test('an XLSX whose workbook part is zipped after its sheets and shared strings reads the same', async () => {
  // exceljs's streaming reader parsed such a sheet before knowing the workbook's sheet list and failed
  // ("reading 'sheets'"); exceljs's own writer sometimes emits this order, so it made CI fail now and then.
  const late = (name: string) => (name === 'xl/workbook.xml' ? 2 : name.startsWith('xl/worksheets/') ? 1 : 0);
  const bytes = makeXlsxInOrder({ Sales: [['Region', 'Revenue'], ['North', '1200']], Notes: [['Remark'], ['fine']] }, late);
  const document = await extractText({ bytes, mimeType: '', filename: 'book.xlsx' });
  assert.deepEqual(document.pages.map((page) => [page.number, page.label, page.text]), [
    [1, 'Sales', 'Region | Revenue\nNorth | 1200'],
    [2, 'Notes', 'Remark\nfine'],
  ]);
});

test('a CSV gives its rows as lines with the header kept, quoted fields intact', async () => {
  const bytes = makeCsv([['name', 'note'], ['Ada', 'wrote "the" first program'], ['Grace', 'comma, inside']]);
  const document = await extractText({ bytes, mimeType: 'text/csv', filename: 'people.csv' });
  assert.equal(document.format, 'csv');
  assert.equal(document.pages[0]!.text, 'name | note\nAda | wrote "the" first program\nGrace | comma, inside');
  assert.equal(document.pages[0]!.header, 'name | note');
});

test('HTML drops scripts, styles and noscript, decodes entities and keeps blocks apart', async () => {
  const document = await extractText({ bytes: text(sampleHtml), mimeType: 'text/html', filename: 'page.html' });
  assert.equal(document.format, 'html');
  assert.equal(document.metadata?.title, 'Ingestion & chunks');
  const content = document.pages[0]!.text;
  assert.equal(content, 'Durable ingestion\n\nFiles are extracted & chunked.\n\n- PDF\n- DOCX\n\nFormat | Pages\nPDF | yes');
  assert.doesNotMatch(content, /secret|color|enable scripts/);
});

test('Markdown, code and plain text are kept as written; JSON is pretty-printed', async () => {
  const markdown = await extractText({ bytes: text(sampleMarkdown), mimeType: '', filename: 'notes.md' });
  assert.equal(markdown.format, 'markdown');
  assert.equal(markdown.pages[0]!.text, sampleMarkdown.trim());
  const code = await extractText({ bytes: text('export const x = 1;\r\n'), mimeType: '', filename: 'x.ts' });
  assert.deepEqual([code.format, code.pages[0]!.text], ['code', 'export const x = 1;']);
  const json = await extractText({ bytes: text(sampleJson), mimeType: 'application/json', filename: 'data.json' });
  assert.equal(json.format, 'json');
  assert.equal(json.pages[0]!.text, JSON.stringify(JSON.parse(sampleJson), null, 2));
  const broken = await extractText({ bytes: text('{"a": 1,'), mimeType: 'application/json', filename: 'bad.json' });
  assert.equal(broken.pages[0]!.text, '{"a": 1,');
  assert.match(broken.metadata!.warnings![0]!, /not valid JSON/);
  const latin = await extractText({ bytes: new Uint8Array([0x63, 0x61, 0x66, 0xe9]), mimeType: 'text/plain', filename: 'old.txt' });
  assert.equal(latin.pages[0]!.text, 'café');
});

test('the content decides, not the name: PDF bytes named notes.txt, text named x.pdf', async () => {
  const pdf = await extractText({ bytes: makePdf([['really a pdf']]), mimeType: 'text/plain', filename: 'notes.txt' });
  assert.deepEqual([pdf.format, pdf.pages[0]!.text, pdf.pages[0]!.number], ['pdf', 'really a pdf', 1]);
  const plain = await extractText({ bytes: text('just words'), mimeType: 'application/pdf', filename: 'x.pdf' });
  assert.deepEqual([plain.format, plain.pages[0]!.text], ['text', 'just words']);
  const docx = await extractText({ bytes: makeDocx(['hidden docx']), mimeType: 'image/png', filename: 'photo.png' });
  assert.deepEqual([docx.format, docx.pages[0]!.text], ['docx', 'hidden docx']);
});

async function rejectsWith(promise: Promise<unknown>, errorClass: typeof BrokenFileError | typeof UnsupportedFileError, message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    assert.match((error as Error).message, message);
    return true;
  });
}

test('a corrupt PDF is a BrokenFileError that says the file is damaged', async () => {
  await rejectsWith(extractText({ bytes: makeCorruptPdf(), mimeType: 'application/pdf', filename: 'broken.pdf' }), BrokenFileError, /PDF is damaged/);
});

test('an encrypted PDF is a BrokenFileError that says it is encrypted', async () => {
  const bytes = makePdf([['secret']], { encrypted: true });
  await rejectsWith(extractText({ bytes, mimeType: 'application/pdf', filename: 'locked.pdf' }), BrokenFileError, /encrypted/);
});

test('a truncated DOCX is a BrokenFileError', async () => {
  const whole = makeDocx(['a paragraph '.repeat(200)]);
  const bytes = whole.subarray(0, Math.floor(whole.byteLength * 0.6));
  await rejectsWith(extractText({ bytes, mimeType: '', filename: 'cut.docx' }), BrokenFileError, /Word document is damaged/);
});

test('a password-protected Office file is a BrokenFileError', async () => {
  const ole = new Uint8Array(1024);
  ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  await rejectsWith(extractText({ bytes: ole, mimeType: '', filename: 'locked.xlsx' }), BrokenFileError, /password-protected/);
});

test('images, archives and unknown binaries are UnsupportedFileError', async () => {
  await rejectsWith(extractText({ bytes: pngBytes, mimeType: 'text/plain', filename: 'notes.txt' }), UnsupportedFileError, /PNG image/);
  const random = new Uint8Array(4096).map((_, index) => (index * 2654435761) % 251);
  await rejectsWith(extractText({ bytes: random, mimeType: '', filename: 'blob.txt' }), UnsupportedFileError, /binary file/);
});

test('maxChars stops extraction and says so', async () => {
  const bytes = makePdf(Array.from({ length: 20 }, (_, index) => [`Page ${index + 1} has some words on it.`]));
  const document = await extractText({ bytes, mimeType: 'application/pdf', filename: 'long.pdf' }, { maxChars: 70 });
  assert.equal(document.metadata?.truncated, true);
  assert.ok(document.metadata!.characters! <= 70);
  assert.ok(document.pages.length < 20 && document.pages.length >= 2, `pages: ${document.pages.length}`);
  assert.equal(document.metadata?.pageCount, 20);
  const csv = await extractText({ bytes: makeCsv(Array.from({ length: 1000 }, (_, index) => [`row${index}`, 'value'])), mimeType: 'text/csv', filename: 'big.csv' }, { maxChars: 100 });
  assert.equal(csv.metadata?.truncated, true);
  assert.ok(csv.pages[0]!.text.length <= 100);
  assert.match(csv.pages[0]!.text, /^row0 \| value\nrow1 \| value/);
});

test('an aborted signal stops extraction', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(extractText({ bytes: makePdf([['x']]), mimeType: '', filename: 'x.pdf' }, { signal: controller.signal }), /abort/i);
});

test('an XLSX that would unpack to an absurd size is refused before it is parsed', async () => {
  const bytes = Buffer.from(await makeXlsx({ Huge: [['a', 'b']] }));
  // Declare a 2 GB sheet in the central directory (what a zip bomb or a sheet of absurd dimensions looks like).
  const name = Buffer.from('xl/worksheets/sheet1.xml');
  let patched = 0;
  for (let offset = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); offset >= 0; offset = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), offset + 4)) {
    const nameLength = bytes.readUInt16LE(offset + 28);
    if (bytes.subarray(offset + 46, offset + 46 + nameLength).equals(name)) {
      bytes.writeUInt32LE(0x7fffffff, offset + 24);
      patched += 1;
    }
  }
  assert.equal(patched, 1);
  await rejectsWith(extractText({ bytes: new Uint8Array(bytes), mimeType: '', filename: 'huge.xlsx' }), BrokenFileError, /too large to read: it unpacks to \d+ MB/);
});

test('an XLSX whose parts come after its sheets is read in memory, with the same pages, names and character cap', async () => {
  const late = (name: string) => (name === 'xl/workbook.xml' ? 2 : name.startsWith('xl/worksheets/') ? 1 : 0);
  const bytes = makeXlsxInOrder({ Sales: [['Region', 'Revenue'], ['North', '1200'], ['South', '800']], Notes: [['Remark'], ['fine']] }, late);
  const entries = readZipCentralDirectory(bytes, 0)!;
  assert.equal(partsComeAfterSheets(entries), true);
  assert.equal(partsComeAfterSheets(readZipCentralDirectory(makeXlsxInOrder({ Sales: [['a']] }, (name) => (name.startsWith('xl/worksheets/') ? 1 : 0)), 0)!), false, 'the usual order streams');
  const capped = await extractText({ bytes, mimeType: '', filename: 'book.xlsx' }, { maxChars: 30 });
  assert.equal(capped.pages[0]!.label, 'Sales');
  assert.ok(capped.pages.map((page) => page.text).join('').length <= 30, 'the cap holds on the in-memory path');
});
