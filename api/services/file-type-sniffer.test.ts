import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, test } from 'vitest';
import { HeadInspector, SNIFF_BYTES, sniffFileType } from './file-type-sniffer.ts';

/** A ZIP's first local file headers (stored, sizes known), as an OOXML or OpenDocument file starts. */
function zipHead(entries: Array<[name: string, content: string]>): Buffer {
  return Buffer.concat(
    entries.map(([name, content]) => {
      const header = Buffer.alloc(30);
      header.writeUInt32LE(0x04034b50, 0);
      header.writeUInt32LE(Buffer.byteLength(content), 18);
      header.writeUInt32LE(Buffer.byteLength(content), 22);
      header.writeUInt16LE(Buffer.byteLength(name), 26);
      return Buffer.concat([header, Buffer.from(name), Buffer.from(content)]);
    }),
  );
}

const sniff = (content: Buffer | string, mimetype = 'application/octet-stream', filename = 'upload.bin', complete = true) =>
  sniffFileType(Buffer.from(content), { mimetype, filename }, complete);

describe('sniffFileType: the content decides', () => {
  test('binary formats by their magic bytes, whatever the name says', () => {
    assert.equal(sniff('%PDF-1.7\n...', 'text/plain', 'notes.txt'), 'application/pdf');
    assert.equal(sniff(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 'application/pdf', 'a.pdf'), 'image/png');
    assert.equal(sniff(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'text/plain'), 'image/jpeg');
    assert.equal(sniff('GIF89a\x01\x00'), 'image/gif');
    assert.equal(sniff(Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')])), 'image/webp');
    assert.equal(sniff(Buffer.concat([Buffer.alloc(4), Buffer.from('ftypheic')])), 'image/heic');
  });

  test('ZIP containers by their entries: docx, xlsx, pptx, OpenDocument, EPUB, plain zip', () => {
    const contentTypes: [string, string] = ['[Content_Types].xml', '<Types/>'];
    assert.equal(sniff(zipHead([contentTypes, ['_rels/.rels', '<r/>'], ['word/document.xml', '<w/>']]), 'text/plain', 'a.txt'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    assert.equal(sniff(zipHead([contentTypes, ['xl/workbook.xml', '<w/>']])), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.equal(sniff(zipHead([contentTypes, ['ppt/presentation.xml', '<p/>']])), 'application/vnd.openxmlformats-officedocument.presentationml.presentation');
    // "xl/" inside another entry's bytes is not an entry name.
    assert.equal(sniff(zipHead([contentTypes, ['word/document.xml', 'see xl/ here']])), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    assert.equal(sniff(zipHead([['mimetype', 'application/vnd.oasis.opendocument.text']])), 'application/vnd.oasis.opendocument.text');
    assert.equal(sniff(zipHead([['mimetype', 'application/epub+zip']])), 'application/epub+zip');
    assert.equal(sniff(zipHead([['photo.jpg', 'x']]), 'application/pdf', 'a.pdf'), 'application/zip');
  });

  test('text by being UTF-8 without control bytes; its subtype from a textual claim or the name', () => {
    assert.equal(sniff('# Title\n\nSome *markdown*.', 'text/markdown', 'a.md'), 'text/markdown');
    assert.equal(sniff('name,age\nada,36\n', 'application/vnd.ms-excel', 'people.csv'), 'text/csv');
    assert.equal(sniff('{"a": [1, 2]}', 'application/json', 'a.json'), 'application/json');
    // A JSON claim for content that does not start like JSON.
    assert.equal(sniff('just words', 'application/json', 'a.json'), 'text/plain');
    assert.equal(sniff('déjà vu — ünïcode ✓', 'application/octet-stream', 'noext'), 'text/plain');
    assert.equal(sniff('print("hi")\n', 'application/octet-stream', 'script.py'), 'text/x-python');
    assert.equal(sniff('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', 'text/plain', 'a.txt'), 'image/svg+xml');
    // A multi-byte character cut by the end of the head is still text when the file goes on.
    assert.equal(sniff(Buffer.from('ab€').subarray(0, 3), 'text/plain', 'a.txt', false), 'text/plain');
    assert.equal(sniff(Buffer.from('ab€').subarray(0, 3), 'text/plain', 'a.txt', true), 'application/octet-stream');
  });

  test('anything else is application/octet-stream', () => {
    assert.equal(sniff(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]), 'text/plain', 'a.txt'), 'application/octet-stream');
    assert.equal(sniff(Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03]), 'application/pdf', 'a.pdf'), 'application/octet-stream');
    assert.equal(sniff(Buffer.from('text\0with a NUL')), 'application/octet-stream');
  });
});

describe('HeadInspector', () => {
  async function run(total: number, inspect: (head: Buffer, complete: boolean) => void) {
    let passed = 0;
    await pipeline(
      Readable.from((function* () {
        for (let sent = 0; sent < total; sent += 1000) yield Buffer.alloc(Math.min(1000, total - sent), 0x61);
      })()),
      new HeadInspector(inspect),
      new Writable({ write: (chunk, _encoding, callback) => ((passed += chunk.length), callback()) }),
    );
    return passed;
  }

  test('sees the first SNIFF_BYTES before any byte passes, then lets all through', async () => {
    const seen: Array<[number, boolean]> = [];
    assert.equal(await run(200_000, (head, complete) => seen.push([head.length, complete])), 200_000);
    assert.deepEqual(seen, [[SNIFF_BYTES, false]]);
    assert.equal(await run(500, (head, complete) => seen.push([head.length, complete])), 500);
    assert.deepEqual(seen.at(-1), [500, true]);
  });

  test('a refusal stops the stream before anything passes', async () => {
    let passed = -1;
    await assert.rejects(
      (async () => {
        passed = await run(200_000, () => {
          throw new Error('not allowed');
        });
      })(),
      /not allowed/,
    );
    assert.equal(passed, -1);
  });
});
