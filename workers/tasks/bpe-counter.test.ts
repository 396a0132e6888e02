import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100kBase from 'js-tiktoken/ranks/cl100k_base';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { test } from 'vitest';
import { createBpeCounter } from './bpe-counter.ts';

const samples = [
  '',
  ' ',
  'Hello, world!',
  'durable '.repeat(200),
  "Don't stop: it's 3.14159 × 2 = 6.28318, isn't it? I'll see.",
  'Ünïcödé façade — naïve café, 東京都の天気は晴れです。Привет, мир! مرحبا بالعالم',
  'emoji 👩‍👩‍👧‍👦🚀🔥 and tabs\tand\r\nnewlines\n\n  indented code: const x = { a: [1, 2, 3] };',
  'quoting <|endoftext|> and <|im_start|> as plain text',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '0123456789'.repeat(30),
  '\u0301\u0301 e\u0301 \uD83D \uDE00 lone surrogates and combining marks',
  Array.from({ length: 2000 }, (_unused, index) => String.fromCodePoint(32 + ((index * 7919) % 0x2fff))).join(''),
];

/** Deterministic text from every script the samples touch, in words, runs and punctuation. */
function generated(count: number): string[] {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabets = ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'äöüßéèêçñ', 'абвгдежзийклмнопрст', 'αβγδεζηθ', '東京都天気晴日本語中文字', 'مرحبابالعالم', '0123456789', ' \t\n\r', '.,;:!?\'"()[]{}<>-_=+*/\\|@#$%^&~`', '🚀🔥👩‍👧😀'];
  return Array.from({ length: count }, () => {
    let text = '';
    const words = 1 + Math.floor(next() * 40);
    for (let word = 0; word < words; word += 1) {
      const alphabet = [...alphabets[Math.floor(next() * alphabets.length)]!];
      const length = 1 + Math.floor(next() * 14);
      for (let index = 0; index < length; index += 1) text += alphabet[Math.floor(next() * alphabet.length)];
      text += next() < 0.7 ? ' ' : next() < 0.5 ? '\n' : '';
    }
    return text;
  });
}

const readme = readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

for (const [name, ranks] of [['o200k_base', o200kBase], ['cl100k_base', cl100kBase]] as const) {
  test(`counts exactly as js-tiktoken encodes, with ${name}`, () => {
    const full = new Tiktoken(ranks);
    const count = createBpeCounter(ranks);
    for (const sample of [...samples, ...generated(400), readme.slice(0, 20_000)]) {
      assert.equal(count(sample), full.encode(sample, [], []).length, JSON.stringify(sample.slice(0, 60)));
    }
  });
}

test('a rank file without every single byte is refused (its counts would be wrong), and a token listed twice takes the later rank', () => {
  const bytes = (values: number[]) => Buffer.from(values).toString('base64');
  const singles = Array.from({ length: 256 }, (_, byte) => bytes([byte]));
  assert.throws(() => createBpeCounter({ pat_str: '.', special_tokens: {}, bpe_ranks: `! 0 ${singles.slice(1).join(' ')}` }), /byte 0 is not a token/);
  // "ab" listed first and last: with its later rank, "abcd" merges b+c first and ends as a|bc|d (3 tokens);
  // with its first rank it would merge a+b, then c+d (2 tokens).
  const [ab, bc, cd] = [bytes([97, 98]), bytes([98, 99]), bytes([99, 100])];
  const ranks = { pat_str: '[a-z]+', special_tokens: {}, bpe_ranks: `! 0 ${singles.join(' ')}\n! 256 ${ab} ${bc} ${cd} ${ab}` };
  assert.equal(new Tiktoken(ranks).encode('abcd', [], []).length, 3);
  assert.equal(createBpeCounter(ranks)('abcd'), 3);
});
