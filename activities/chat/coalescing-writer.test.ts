import assert from 'node:assert/strict';
import { test } from 'vitest';
import { createCoalescingWriter } from './coalescing-writer.ts';

test('writes the first token at once and batches what arrives during a write, in order', async () => {
  const writes: string[] = [];
  let release: () => void = () => {};
  const writer = createCoalescingWriter(async (segments) => {
    writes.push(segments.map((segment) => segment.text).join(''));
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  });
  writer.push('text', 'a');
  writer.push('text', 'b');
  writer.push('text', 'c');
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
  writer.push('text', 'x');
  await new Promise((resolve) => setImmediate(resolve));
  assert.throws(() => writer.push('text', 'y'), /fenced out/);
  await assert.rejects(writer.flush(), /fenced out/);
});

test('with minIntervalMs, writes are spaced out and what arrives meanwhile is joined', async () => {
  const writes: Array<{ text: string; at: number }> = [];
  const writer = createCoalescingWriter(async (segments) => {
    writes.push({ text: segments.map((segment) => segment.text).join(''), at: Date.now() });
  }, { minIntervalMs: 1_000 });
  writer.push('text', 'a');
  // Well inside the interval even on a loaded machine.
  await new Promise((resolve) => setTimeout(resolve, 5));
  writer.push('text', 'b');
  writer.push('text', 'c');
  await writer.flush();
  assert.deepEqual(writes.map((write) => write.text), ['a', 'bc']);
  assert.ok(writes[1]!.at - writes[0]!.at >= 950, `spaced ${writes[1]!.at - writes[0]!.at} ms`);
});

test('text and reasoning keep their order: adjacent deltas of a kind join, a change of kind starts a segment', async () => {
  const writes: Array<Array<{ kind: string; text: string }>> = [];
  let release: () => void = () => {};
  const writer = createCoalescingWriter(async (segments) => {
    writes.push(segments.map((segment) => ({ ...segment })));
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  });
  writer.push('reasoning', 'th');
  writer.push('reasoning', 'ink');
  writer.push('text', 'an');
  writer.push('text', 'swer');
  writer.push('reasoning', '!');
  release();
  const flushed = writer.flush();
  await new Promise((resolve) => setImmediate(resolve));
  release();
  await flushed;
  assert.deepEqual(writes, [
    [{ kind: 'reasoning', text: 'th' }],
    [{ kind: 'reasoning', text: 'ink' }, { kind: 'text', text: 'answer' }, { kind: 'reasoning', text: '!' }],
  ]);
});
