import assert from 'node:assert/strict';
import { afterAll, test } from 'vitest';
import { createTokenCounter } from './token-counter.ts';

const counter = createTokenCounter({ maxThreads: 1 });
afterAll(() => counter.close());

test('counts tokens on a worker thread with the o200k_base encoding', async () => {
  const [empty, hello, long] = await counter.countTokens(['', 'Hello, world!', 'durable '.repeat(1000)]);
  assert.equal(empty, 0);
  assert.equal(hello, 4);
  assert.ok(long! >= 1000 && long! <= 2000, `long text: ${long}`);
});

test('an aborted task rejects instead of returning a count', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(counter.countTokens(['x'.repeat(100000)], controller.signal));
});

test('special-token text typed by a user is counted as plain text, not refused', async () => {
  const [count] = await counter.countTokens(['quoting <|endoftext|> and <|im_start|> in a message']);
  assert.ok(count! > 5, `counted ${count}`);
});
