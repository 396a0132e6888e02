/**
 * The indexer's wake-ups as a process sends them: folded, spaced, and finished before the connection they
 * use is closed (a signal left retrying on a closed Temporal connection fails as an uncaught exception).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'vitest';
import { configureSearchChangeCapture, stopSearchChangeCapture, wakeSearchIndexer } from './search-changes.ts';

/** Waits for what a timer should have done by now; a loaded machine may fire timers late, never early. */
async function until(condition: () => boolean, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, what);
    await sleep(10);
  }
}

test('pokes during a wake-up fold into one more; stopping waits for the one under way', async () => {
  const sent: number[] = [];
  let release!: () => void;
  const capture = {
    wakeDelayMs: 0,
    wakeUp: async () => {
      sent.push(Date.now());
      await new Promise<void>((resolve) => (release = resolve));
    },
  };
  configureSearchChangeCapture(capture);
  wakeSearchIndexer();
  for (let poke = 0; poke < 20; poke += 1) wakeSearchIndexer();
  assert.equal(sent.length, 1, 'one signal in flight');
  release();
  await until(() => sent.length >= 2, 'a second signal');
  await sleep(300);
  assert.equal(sent.length, 2, 'the twenty pokes became one more signal');
  assert.ok(sent[1]! - sent[0]! >= 240, 'spaced by the wake interval');

  // One under way: stopping waits for it to finish.
  let finished = false;
  const stopped = stopSearchChangeCapture(capture).then(() => (finished = true));
  await sleep(50);
  assert.equal(finished, false, 'stop waits for the signal under way');
  release();
  await stopped;
  assert.equal(sent.length, 2);

  // Stopped: nothing more is sent.
  wakeSearchIndexer();
  await sleep(300);
  assert.equal(sent.length, 2);
});

test('a wake-up waiting for its turn is sent at stop, at once, and stop waits for it', async () => {
  const sent: number[] = [];
  let finishedSending = false;
  const capture = {
    wakeDelayMs: 0,
    wakeUp: async () => {
      sent.push(Date.now());
      await sleep(50);
      finishedSending = true;
    },
  };
  configureSearchChangeCapture(capture);
  wakeSearchIndexer();
  await sleep(100);
  wakeSearchIndexer(); // within 250 ms of the first: waits for its turn
  const stopAt = Date.now();
  await stopSearchChangeCapture(capture);
  assert.equal(sent.length, 2, 'the waiting wake-up was sent, not dropped');
  assert.ok(sent[1]! - stopAt < 50, 'sent at stop, not at its turn');
  assert.equal(finishedSending, true, 'stop returned after the signal finished');
  await sleep(300);
  assert.equal(sent.length, 2);
});

test('a change wakes the indexer after the delay, not at once; changes during the wait fold into that one wake-up, put off to a delay after the last', async () => {
  const sent: number[] = [];
  const capture = { wakeDelayMs: 300, wakeUp: async () => void sent.push(Date.now()) };
  configureSearchChangeCapture(capture);
  const first = Date.now();
  wakeSearchIndexer();
  await sleep(150);
  for (let poke = 0; poke < 5; poke += 1) wakeSearchIndexer();
  await sleep(250);
  assert.equal(sent.length, 0, 'nothing sent during the delay after the last change');
  await until(() => sent.length >= 1, 'the wake-up');
  assert.equal(sent.length, 1, 'one wake-up for all six changes');
  assert.ok(sent[0]! - first >= 440, `sent ${sent[0]! - first} ms after the first change (the last came at 150 ms)`);
  await sleep(400);
  assert.equal(sent.length, 1, 'changes recorded before the signal need no second one');
  await stopSearchChangeCapture(capture);
});

test('changes that keep coming put the wake-up off no longer than the longest delay after the first', async () => {
  const sent: number[] = [];
  const capture = { wakeDelayMs: 200, maxWakeDelayMs: 600, wakeUp: async () => void sent.push(Date.now()) };
  configureSearchChangeCapture(capture);
  const first = Date.now();
  // A change every 50 ms for 1.2 s: the quiet delay never passes.
  let lastPokeAt = 0;
  for (let poke = 0; poke < 24; poke += 1) {
    wakeSearchIndexer();
    lastPokeAt = Date.now();
    await sleep(50);
  }
  await stopSearchChangeCapture(capture);
  assert.ok(sent.length >= 2, `wake-ups went out while the changes kept coming (${sent.length})`);
  assert.ok(sent[0]! - first >= 590, `the first went out ${sent[0]! - first} ms after the first change, not before the longest delay`);
  // Not put off until the changes stopped (the last came at least 1.15 s after the first).
  assert.ok(sent[0]! < lastPokeAt, `the first went out ${sent[0]! - first} ms after the first change, the last change at ${lastPokeAt - first} ms`);
});

test('a waker that throws at once settles its wake-up: the next change is sent', async () => {
  let calls = 0;
  const capture = {
    wakeDelayMs: 0,
    log: () => undefined,
    wakeUp: () => {
      calls += 1;
      if (calls === 1) throw new Error('thrown before any promise');
      return Promise.resolve();
    },
  };
  configureSearchChangeCapture(capture);
  wakeSearchIndexer();
  await until(() => calls >= 1, 'the first wake-up');
  await sleep(300);
  wakeSearchIndexer();
  await until(() => calls >= 2, 'the next change was sent');
  await stopSearchChangeCapture(capture);
});

test('stopping a capture that is no longer the process\'s does not wait for the current one\'s wake-up still waiting', async () => {
  const sent: string[] = [];
  const old = { wakeDelayMs: 0, wakeUp: async () => void sent.push('old') };
  const current = { wakeDelayMs: 2000, wakeUp: async () => void sent.push('current') };
  configureSearchChangeCapture(old);
  configureSearchChangeCapture(current);
  wakeSearchIndexer();
  const started = performance.now();
  await stopSearchChangeCapture(old);
  assert.ok(performance.now() - started < 1_500, 'returned without waiting for the other capture\'s delay');
  assert.deepEqual(sent, []);
  await stopSearchChangeCapture(current);
  assert.deepEqual(sent, ['current'], 'the current capture\'s stop sends its waiting wake-up');
});
