import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SourceMapConsumer } from 'source-map';
import { expect, test } from 'vitest';

/** The bundle test/setup/global-setup.ts built with workflowBundleOptions, as npm start builds it. */
function bundleAndMap() {
  const code = readFileSync(process.env.WORKFLOW_BUNDLE_PATH!, 'utf8');
  // As the SDK reads it (worker.js extractSourceMap): the last data URL, base64 after its media type.
  const marker = code.lastIndexOf('//# sourceMappingURL=data:');
  expect(marker).toBeGreaterThan(0);
  const map = JSON.parse(Buffer.from(code.slice(code.indexOf('base64,', marker) + 7).trim(), 'base64').toString());
  return { code: code.slice(0, marker), map };
}

test('the workflow bundle carries its mappings inline but not the text of every module', async () => {
  const { code, map } = bundleAndMap();
  expect((map.sourcesContent ?? []).filter(Boolean)).toEqual([]);
  const chat = path.join(import.meta.dirname, '..', 'workflows', 'chat.ts');
  expect(map.sources).toContain(chat);
  // A line of the bundled chat workflow still maps back to its line in workflows/chat.ts: stack traces of
  // workflow code point to the sources.
  const lines = code.split('\n');
  const generatedLine = lines.findIndex((line) => /async function chatWorkflow\(/.test(line)) + 1;
  expect(generatedLine).toBeGreaterThan(0);
  const column = lines[generatedLine - 1]!.indexOf('chatWorkflow');
  const original = await SourceMapConsumer.with(map, null, (consumer) => consumer.originalPositionFor({ line: generatedLine, column }));
  expect(original.source).toBe(chat);
  const sourceLine = readFileSync(chat, 'utf8').split('\n').findIndex((line) => line.startsWith('export async function chatWorkflow(')) + 1;
  expect(original.line).toBe(sourceLine);
});
