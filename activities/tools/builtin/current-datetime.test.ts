import assert from 'node:assert/strict';
import { test } from 'vitest';
import type { ToolCallContext } from '../tool-types.ts';
import { createCurrentDatetimeCall, describeCurrentDatetime } from './current-datetime.ts';
import { createBuiltinTools } from './index.ts';

const context: ToolCallContext = { userId: 'user-1', idempotencyKey: 'chat-1:call-1', signal: new AbortController().signal };
// A summer instant, so zones with daylight saving show their summer offset.
const instant = new Date('2024-07-01T12:34:56.789Z');

function lines(timezone: unknown, at: Date = instant): string[] {
  const result = describeCurrentDatetime(timezone, at);
  assert.equal(result.isError, false, result.output);
  return result.output.split('\n');
}

test('without a zone it answers in UTC', () => {
  assert.deepEqual(lines(undefined), [
    'UTC time: 2024-07-01T12:34:56.789Z',
    'Local time (UTC): 2024-07-01T12:34:56+00:00',
    'Weekday (UTC): Monday',
    'Unix time: 1719837296 seconds',
  ]);
  assert.deepEqual(lines(null), lines(undefined));
  assert.deepEqual(lines('  '), lines(undefined));
});

test('local time, offset and weekday follow the zone, including half-hour offsets and date changes', () => {
  assert.deepEqual(lines('America/New_York').slice(1, 3), ['Local time (America/New_York): 2024-07-01T08:34:56-04:00', 'Weekday (America/New_York): Monday']);
  assert.deepEqual(lines('Asia/Kolkata').slice(1, 3), ['Local time (Asia/Kolkata): 2024-07-01T18:04:56+05:30', 'Weekday (Asia/Kolkata): Monday']);
  // Past midnight in Kiritimati (UTC+14): already Tuesday there.
  assert.deepEqual(lines('Pacific/Kiritimati').slice(1, 3), ['Local time (Pacific/Kiritimati): 2024-07-02T02:34:56+14:00', 'Weekday (Pacific/Kiritimati): Tuesday']);
  // Winter: Paris is UTC+1, and midnight is 00, not 24.
  assert.equal(lines('Europe/Paris', new Date('2024-01-14T23:00:00Z'))[1], 'Local time (Europe/Paris): 2024-01-15T00:00:00+01:00');
  // The UTC line and the Unix time do not depend on the zone.
  assert.equal(lines('Asia/Tokyo')[0], 'UTC time: 2024-07-01T12:34:56.789Z');
  assert.equal(lines('Asia/Tokyo')[3], 'Unix time: 1719837296 seconds');
  // Case is forgiven and shown canonically.
  assert.equal(lines('europe/london')[1], 'Local time (Europe/London): 2024-07-01T13:34:56+01:00');
});

test('an unknown or malformed zone is an error result naming it', () => {
  for (const zone of ['Mars/Olympus_Mons', 'Europe/Pariss', 'GMT+99', '../../etc/passwd']) {
    const result = describeCurrentDatetime(zone, instant);
    assert.equal(result.isError, true, zone);
    assert.match(result.output, /^Error: unknown time zone/);
    assert.ok(result.output.includes(JSON.stringify(zone)), result.output);
  }
  const wrongType = describeCurrentDatetime(5, instant);
  assert.equal(wrongType.isError, true);
  assert.match(wrongType.output, /must be a string/);
});

test('the registered tool reads the real clock', async () => {
  const tool = createBuiltinTools().get('current_datetime')!;
  assert.equal(tool.definition.name, 'current_datetime');
  const before = Math.floor(Date.now() / 1000);
  const result = await tool.call({ timezone: 'Europe/Berlin' }, context);
  const after = Math.floor(Date.now() / 1000);
  assert.equal(result.isError, false, result.output);
  const epoch = Number(/^Unix time: (\d+) seconds$/m.exec(result.output)?.[1]);
  assert.ok(epoch >= before && epoch <= after, result.output);
  assert.match(result.output, /^Local time \(Europe\/Berlin\): \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$/m);
  assert.deepEqual(await tool.call({ timezone: 'Nowhere/Land' }, context), describeCurrentDatetime('Nowhere/Land', new Date()));
});

test('an injected clock is used as given', async () => {
  const call = createCurrentDatetimeCall(() => instant);
  assert.deepEqual(await call({ timezone: 'UTC' }, context), describeCurrentDatetime('UTC', instant));
});
