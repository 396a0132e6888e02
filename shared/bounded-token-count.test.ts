import assert from 'node:assert/strict';
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { test } from 'vitest';
import { countTokensBounded } from './bounded-token-count.ts';

const encoder = new Tiktoken(o200kBase);
const exact = (text: string) => encoder.encode(text, [], []).length;

test('ordinary text is counted exactly', () => {
  const text = 'Durable replies travel through Temporal workflows and Redis streams. '.repeat(50);
  assert.equal(countTokensBounded(exact, text), exact(text));
});

test('a run with no break is counted in linear time, close to the exact count', () => {
  const word = 'abcdefghij'.repeat(1000);
  const started = performance.now();
  const bounded = countTokensBounded(exact, `start ${word} end`);
  assert.ok(performance.now() - started < 2000, 'a 10,000-letter word is counted in well under the quadratic cost (~7 s)');
  const reference = exact(`start ${word} end`);
  assert.ok(Math.abs(bounded - reference) <= reference * 0.1 + 80, `${bounded} vs ${reference}`);
  // A megabyte of one letter finishes at all (it would take hours exactly).
  assert.ok(countTokensBounded(exact, 'a'.repeat(1_000_000)) > 0);
  assert.ok(countTokensBounded(exact, ' '.repeat(100_000)) > 0);
});
