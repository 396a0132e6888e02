import assert from 'node:assert/strict';
import { test } from 'vitest';
import type { TranscriptEntry } from '../shared/agent-run.ts';
import { trimTranscript } from './agent-run.ts';

test('the transcript keeps its newest tool outputs within budget; older ones become notes, the calls stay', () => {
  const transcript: TranscriptEntry[] = [];
  for (let round = 0; round < 10; round += 1) {
    transcript.push({ role: 'assistant', content: `round ${round}`, toolCalls: [{ id: `call_${round}`, name: 'read', arguments: '{}' }] });
    transcript.push({ role: 'tool', toolCallId: `call_${round}`, name: 'read', content: 'x'.repeat(60_000), isError: false });
  }
  trimTranscript(transcript);
  const outputs = transcript.filter((entry): entry is Extract<TranscriptEntry, { role: 'tool' }> => entry.role === 'tool');
  const total = transcript.reduce((sum, entry) => sum + entry.content.length, 0);
  assert.ok(total <= 400_000, `${total} characters kept`);
  assert.match(outputs[0]!.content, /^\[output omitted to keep the run's history bounded: 60000 characters\]$/);
  assert.equal(outputs.at(-1)!.content.length, 60_000, 'the newest output is whole');
  assert.equal(transcript.length, 20, 'every call and result is still there');
});
