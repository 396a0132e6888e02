import assert from 'node:assert/strict';
import { test } from 'vitest';
import { createCoalescingWriter } from './coalescing-writer.ts';

test('writes the first token at once and batches what arrives during a write, in order', async () => {
  const writes: string[] = [];
  let release: () => void = () => {};
  const writer = createCoalescingWriter(async (text) => {
    writes.push(text);
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  });
  writer.push('a');
  writer.push('b');
  writer.push('c');
  assert.deepEqual(writes, ['a']);
  release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ['a', 'bc']);
  const flushed = writer.flush();
  release();
  await flushed;
  assert.equal(writes.join(''), 'abc');
});

test('a failed write surfaces on the next push and on flush', async () => {
  const writer = createCoalescingWriter(async () => {
    throw new Error('fenced out');
  });
  writer.push('x');
  await new Promise((resolve) => setImmediate(resolve));
  assert.throws(() => writer.push('y'), /fenced out/);
  await assert.rejects(writer.flush(), /fenced out/);
});

test('with minIntervalMs, writes are spaced out and what arrives meanwhile is joined', async () => {
  const writes: Array<{ text: string; at: number }> = [];
  const writer = createCoalescingWriter(async (text) => {
    writes.push({ text, at: Date.now() });
  }, { minIntervalMs: 40 });
  writer.push('a');
  await new Promise((resolve) => setTimeout(resolve, 5));
  writer.push('b');
  writer.push('c');
  await writer.flush();
  assert.deepEqual(writes.map((write) => write.text), ['a', 'bc']);
  assert.ok(writes[1]!.at - writes[0]!.at >= 35, `spaced ${writes[1]!.at - writes[0]!.at} ms`);
});
