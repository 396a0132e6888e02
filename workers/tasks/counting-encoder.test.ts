import assert from 'node:assert/strict';
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { test } from 'vitest';
import { createCountingEncoder } from './counting-encoder.ts';

const samples = [
  '',
  'Hello, world!',
  'durable '.repeat(200),
  "Don't stop: it's 3.14159 × 2 = 6.28318, isn't it? I'll see.",
  'Ünïcödé façade — naïve café, 東京都の天気は晴れです。Привет, мир! مرحبا بالعالم',
  'emoji 👩‍👩‍👧‍👦🚀🔥 and tabs\tand\r\nnewlines\n\n  indented code: const x = { a: [1, 2, 3] };',
  'quoting <|endoftext|> and <|im_start|> as plain text',
  Array.from({ length: 2000 }, (_unused, index) => String.fromCodePoint(32 + ((index * 7919) % 0x2fff))).join(''),
];

test('the counting encoder encodes exactly as js-tiktoken with the full tables', () => {
  const full = new Tiktoken(o200kBase);
  const lean = createCountingEncoder(o200kBase);
  for (const sample of samples) assert.deepEqual(lean.encode(sample, [], []), full.encode(sample, [], []), JSON.stringify(sample.slice(0, 40)));
});

test('every rank of the table is loaded', () => {
  const lean = createCountingEncoder(o200kBase) as unknown as { rankMap: Map<string, number> };
  const full = new Tiktoken(o200kBase) as unknown as { rankMap: Map<string, number> };
  assert.equal(lean.rankMap.size, full.rankMap.size);
  assert.ok(lean.rankMap.size > 199_000, `${lean.rankMap.size} ranks`);
});
