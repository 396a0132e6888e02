import assert from 'node:assert/strict';
import { test } from 'vitest';
import { toToolResult } from './mcp-content.ts';

test('text parts are joined; binary parts are described with their size; text resources are read', () => {
  const result = toToolResult({
    content: [
      { type: 'text', text: 'first' },
      { type: 'image', mimeType: 'image/png', data: Buffer.alloc(1234).toString('base64') },
      { type: 'audio', mimeType: 'audio/wav', data: Buffer.alloc(10).toString('base64') },
      { type: 'resource', resource: { uri: 'file:///a.txt', mimeType: 'text/plain', text: 'inside a' } },
      { type: 'resource', resource: { uri: 'file:///b.bin', mimeType: 'application/octet-stream', blob: Buffer.alloc(7).toString('base64') } },
      { type: 'resource_link', uri: 'file:///c', name: 'c' },
    ],
  });
  assert.deepEqual(result, {
    output: ['first', '[image image/png, 1234 bytes]', '[audio audio/wav, 10 bytes]', 'inside a', '[resource file:///b.bin application/octet-stream, 7 bytes]', '[resource link file:///c (c)]'].join('\n'),
    isError: false,
  });
});

test('structured content stands in when there are no parts; isError is carried over', () => {
  assert.deepEqual(toToolResult({ content: [], structuredContent: { sum: 3 } }), { output: '{"sum":3}', isError: false });
  assert.deepEqual(toToolResult({ content: [{ type: 'text', text: 'no' }], isError: true }), { output: 'no', isError: true });
});
