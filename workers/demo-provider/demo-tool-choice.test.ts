import assert from 'node:assert/strict';
import { test } from 'vitest';
import { demoToolCalls } from './demo-tool-choice.ts';
import { planReply } from './reply-script.ts';

const id = (name: string, position: number) => `${name}-${position}`;

test('the demo model calls the calculator for arithmetic and the clock for the time, when offered', () => {
  assert.deepEqual(demoToolCalls('what is 12 * (3 + 4)?', ['calculator'], id), [{ id: 'calculator-0', name: 'calculator', arguments: '{"input":"12 * (3 + 4)"}' }]);
  assert.deepEqual(demoToolCalls('what time is it?', ['calculator', 'current_datetime'], id).map((call) => call.name), ['current_datetime']);
  assert.deepEqual(demoToolCalls('count the words: one two three', ['word_count_mcp_durachat-tools'], id), [{ id: 'word_count_mcp_durachat-tools-0', name: 'word_count_mcp_durachat-tools', arguments: '{"text":"one two three"}' }]);
});

test('no tool offered, no matching question, or a directive: no demo call', () => {
  assert.deepEqual(demoToolCalls('what is 2+2', [], id), []);
  assert.deepEqual(demoToolCalls('tell me a story', ['calculator', 'current_datetime'], id), []);
  assert.equal(planReply('demo-fast', [{ role: 'user', content: 'what is 2+2 [tokens=3]' }], ['calculator']).toolCalls, undefined);
});

test('after the result, the demo model answers quoting it', () => {
  const first = planReply('demo-fast', [{ role: 'user', content: 'what is 2+2' }], ['calculator']);
  assert.equal(first.toolCalls?.[0]?.name, 'calculator');
  const answer = planReply('demo-fast', [
    { role: 'user', content: 'what is 2+2' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'calculator', arguments: '{"input":"2+2"}' }] },
    { role: 'tool', content: '4', toolCallId: 'c1', name: 'calculator' },
  ], ['calculator']);
  assert.equal(answer.toolCalls, undefined);
  assert.match(answer.tokens[0]!, /^Tool calculator said: 4/);
});
