import assert from 'node:assert/strict';
import { afterAll, test } from 'vitest';
import { createTokenCounter, INLINE_MAX_CHARS } from './token-counter.ts';
import { createO200kCounter } from './tasks/o200k-counter.ts';

const counter = createTokenCounter({ maxThreads: 1 });
afterAll(() => counter.close());

test('counts tokens with the o200k_base encoding, short texts in this thread and long ones on the pool thread', async () => {
  const [empty, hello] = await counter.countTokens(['', 'Hello, world!']);
  assert.equal(empty, 0);
  assert.equal(hello, 4);
  const long = 'durable '.repeat(1000);
  assert.ok(long.length > INLINE_MAX_CHARS);
  const [onPool] = await counter.countTokens([long]);
  assert.ok(onPool! >= 1000 && onPool! <= 2000, `long text: ${onPool}`);
  // Both paths count alike: the same text, once short enough to stay here.
  const direct = createO200kCounter();
  assert.equal(onPool, direct(long));
  const [inline] = await counter.countTokens([long.slice(0, 4000)]);
  assert.equal(inline, direct(long.slice(0, 4000)));
});

test('an aborted count rejects instead of returning a count, on either path', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(counter.countTokens(['x'.repeat(100000)], controller.signal));
  await assert.rejects(counter.countTokens(['short'], controller.signal));
});

test('special-token text typed by a user is counted as plain text, not refused', async () => {
  const [count] = await counter.countTokens(['quoting <|endoftext|> and <|im_start|> in a message']);
  assert.ok(count! > 5, `counted ${count}`);
  const [long] = await counter.countTokens([`${'words and more words '.repeat(300)} <|endoftext|>`]);
  assert.ok(long! > 900, `counted ${long}`);
});
