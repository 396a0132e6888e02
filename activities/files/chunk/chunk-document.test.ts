import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'vitest';
import type { ExtractedDocument } from '../extract/extracted-document.ts';
import { chunkDocument } from './chunk-document.ts';
import { countTokensO200k } from './count-tokens.ts';

const words = ['durable', 'workflow', 'retries', 'ingestion', 'vector', 'index', 'embedding', 'crash', 'upload', 'chunk', 'page', 'token'];
/** Deterministic prose: sentence `n` of paragraph `p` on page `page` is unique and recognisable. */
function paragraph(page: number, index: number, sentences: number): string {
  return Array.from({ length: sentences }, (_, sentence) => {
    const body = Array.from({ length: 8 + ((sentence * 5 + index) % 9) }, (__, word) => words[(word * 7 + sentence + index) % words.length]).join(' ');
    return `P${page}p${index}s${sentence} ${body}.`;
  }).join(' ');
}
function pagedDocument(pages: number, paragraphsPerPage: number, sentences = 5): ExtractedDocument {
  return {
    format: 'pdf',
    pages: Array.from({ length: pages }, (_, page) => ({
      number: page + 1,
      text: Array.from({ length: paragraphsPerPage }, (__, index) => paragraph(page + 1, index, sentences)).join('\n\n'),
    })),
  };
}
const sentenceIds = (text: string) => text.match(/P\d+p\d+s\d+/g) ?? [];

test('chunks stay within the token budget by a real o200k count, and the estimate is close', () => {
  const chunks = chunkDocument(pagedDocument(6, 4), { chunkTokens: 200, overlapTokens: 40 });
  assert.ok(chunks.length > 6, `chunks: ${chunks.length}`);
  for (const chunk of chunks) {
    const actual = countTokensO200k(chunk.text);
    assert.ok(actual <= 200, `chunk ${chunk.index} has ${actual} tokens`);
    assert.ok(Math.abs(actual - chunk.tokenEstimate) <= Math.max(3, actual * 0.03), `estimate ${chunk.tokenEstimate} vs ${actual}`);
    assert.ok(actual >= 200 * 0.3 || chunk.index === chunks.length - 1, `chunk ${chunk.index} is tiny: ${actual}`);
  }
});

test('every sentence is kept, in order, and consecutive chunks overlap by at most the overlap budget', () => {
  const document = pagedDocument(3, 3);
  const chunks = chunkDocument(document, { chunkTokens: 150, overlapTokens: 40 });
  const original = document.pages.flatMap((page) => sentenceIds(page.text));
  const seen = chunks.flatMap((chunk) => sentenceIds(chunk.text));
  assert.deepEqual([...new Set(seen)], original);
  let overlapping = 0;
  for (let index = 1; index < chunks.length; index += 1) {
    const previous = chunks[index - 1]!.text;
    const current = chunks[index]!.text;
    // The longest suffix of the previous chunk that the next chunk starts with.
    let shared = '';
    for (let length = Math.min(previous.length, current.length); length > 0; length -= 1) {
      if (current.startsWith(previous.slice(previous.length - length))) {
        shared = current.slice(0, length);
        break;
      }
    }
    if (shared.trim()) overlapping += 1;
    assert.ok(countTokensO200k(shared) <= 40 + 1, `overlap of ${countTokensO200k(shared)} tokens: ${shared}`);
  }
  assert.ok(overlapping >= chunks.length - 2, `only ${overlapping} of ${chunks.length - 1} boundaries overlap`);
});

test('no chunk starts or ends inside a word, and cuts prefer sentence and paragraph ends', () => {
  const document = pagedDocument(2, 5);
  const vocabulary = new Set(document.pages.flatMap((page) => page.text.split(/\s+/)));
  const chunks = chunkDocument(document, { chunkTokens: 180, overlapTokens: 30 });
  for (const chunk of chunks) {
    for (const word of chunk.text.split(/\s+/)) assert.ok(vocabulary.has(word), `"${word}" is not a whole word of the text`);
    assert.match(chunk.text, /\.$/, `chunk ${chunk.index} does not end at a sentence end: …${chunk.text.slice(-30)}`);
  }
  // With paragraphs well inside the budget, most cuts fall on a paragraph end (a blank line follows in the source).
  const paragraphEnds = chunks.slice(0, -1).filter((chunk) => {
    const last = sentenceIds(chunk.text).at(-1)!;
    return document.pages.some((page) => new RegExp(`${last} [^.]*\\.(\\n\\n|$)`).test(page.text));
  });
  assert.ok(paragraphEnds.length >= (chunks.length - 1) / 2, `${paragraphEnds.length} of ${chunks.length - 1} cuts at paragraph ends`);
});

test('each chunk carries the page numbers it spans', () => {
  const document = pagedDocument(4, 1, 3);
  const chunks = chunkDocument(document, { chunkTokens: 120, overlapTokens: 20 });
  for (const chunk of chunks) {
    const expected = [...new Set(sentenceIds(chunk.text).map((id) => Number(/^P(\d+)/.exec(id)![1])))].sort((a, b) => a - b);
    assert.deepEqual(chunk.pages, expected, chunk.text);
  }
  assert.ok(chunks.some((chunk) => chunk.pages.length > 1), 'some chunk spans two pages');
  const labelled = chunkDocument({ format: 'xlsx', pages: [{ number: 1, label: 'Sales', text: 'a b c' }] });
  assert.deepEqual([labelled[0]!.pages, labelled[0]!.pageLabels], [[1], ['Sales']]);
  const unnumbered = chunkDocument({ format: 'docx', pages: [{ text: 'No pages here.' }] });
  assert.deepEqual(unnumbered[0]!.pages, []);
});

test('the same document always gives the same chunks and hashes', () => {
  const first = chunkDocument(pagedDocument(3, 3), { chunkTokens: 100, overlapTokens: 25 });
  const second = chunkDocument(pagedDocument(3, 3), { chunkTokens: 100, overlapTokens: 25 });
  assert.deepEqual(first, second);
  for (const chunk of first) assert.equal(chunk.hash, createHash('sha256').update(chunk.text).digest('hex'));
  assert.equal(new Set(first.map((chunk) => chunk.hash)).size, first.length);
  assert.deepEqual(first.map((chunk) => chunk.index), first.map((_, index) => index));
});

test('a table page repeats its header at the top of every chunk', () => {
  const rows = Array.from({ length: 120 }, (_, index) => `row ${index} | value ${index * 3} | note about item ${index}`);
  const document: ExtractedDocument = { format: 'csv', pages: [{ text: ['id | amount | note', ...rows].join('\n'), header: 'id | amount | note' }] };
  const chunks = chunkDocument(document, { chunkTokens: 120, overlapTokens: 20 });
  assert.ok(chunks.length > 5);
  for (const chunk of chunks) {
    assert.ok(chunk.text.startsWith('id | amount | note\n'), chunk.text.slice(0, 40));
    assert.ok(countTokensO200k(chunk.text) <= 120);
    assert.equal(chunk.text.split('\n').filter((line) => line === 'id | amount | note').length, 1);
    for (const line of chunk.text.split('\n').slice(1)) assert.match(line, /^row \d+ \| value \d+ \| note about item \d+$/, 'rows are whole lines');
  }
});

test('a sentence longer than a chunk is cut between words, a giant word by characters', () => {
  const long = Array.from({ length: 600 }, (_, index) => `word${index}`).join(' ');
  const chunks = chunkDocument({ format: 'text', pages: [{ text: long }] }, { chunkTokens: 100, overlapTokens: 10 });
  for (const chunk of chunks) {
    assert.ok(countTokensO200k(chunk.text) <= 100);
    assert.match(chunk.text, /^word\d+( word\d+)*$/);
  }
  assert.equal(chunks.at(-1)!.text.endsWith('word599'), true);
  const blob = 'x9Qz'.repeat(3000);
  const blobChunks = chunkDocument({ format: 'text', pages: [{ text: `before ${blob} after` }] }, { chunkTokens: 100, overlapTokens: 20 });
  for (const chunk of blobChunks) assert.ok(countTokensO200k(chunk.text) <= 100);
  assert.ok(blobChunks.map((chunk) => chunk.text).join('').includes('x9Qz'.repeat(50)));
});

test('an empty document has no chunks; CJK text without spaces is still chunked within budget', () => {
  assert.deepEqual(chunkDocument({ format: 'text', pages: [{ text: '  \n\n ' }] }), []);
  const cjk = '持久的工作流可以在崩溃后继续运行。'.repeat(200);
  const chunks = chunkDocument({ format: 'text', pages: [{ text: cjk }] }, { chunkTokens: 100, overlapTokens: 20 });
  assert.ok(chunks.length > 3);
  for (const chunk of chunks) assert.ok(countTokensO200k(chunk.text) <= 100, `${countTokensO200k(chunk.text)}`);
  assert.doesNotMatch(chunks[0]!.text, / /);
});
