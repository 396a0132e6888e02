import type { PlannedToolCall } from './reply-script.ts';

/**
 * The keyless demo model's tool use, so a new user sees an agent call tools without a key or a directive:
 * arithmetic → the calculator, a question about the time or date → current_datetime, "count the words"
 * → durachat-tools' word_count, "echo" → its echo, "count slowly" → slow_count (progress). Only tools the
 * request offers are called, as a real model would; anything else is answered in words.
 */
const ARITHMETIC = /(?:\d+(?:\.\d+)?|\([\d\s.]+)\s*(?:[-+*/^%]|\*\*)\s*[-+*/^%()\d\s.]*\d\)?/;

function offered(tools: string[], name: string): string | undefined {
  return tools.find((tool) => tool === name || tool.startsWith(`${name}_mcp_`));
}

/** The text a tool should work on: after a colon when there is one ("count the words: a b c"), else the whole message. */
function subject(text: string): string {
  const at = text.indexOf(':');
  return (at >= 0 ? text.slice(at + 1) : text).trim() || text.trim();
}

export function demoToolCalls(userText: string, offeredTools: string[], idFor: (name: string, position: number) => string): PlannedToolCall[] {
  if (offeredTools.length === 0) return [];
  const picks: Array<{ name: string; arguments: Record<string, unknown> }> = [];
  const calculator = offered(offeredTools, 'calculator');
  const arithmetic = ARITHMETIC.exec(userText)?.[0]?.trim();
  if (calculator && arithmetic) picks.push({ name: calculator, arguments: { input: arithmetic } });
  const clock = offered(offeredTools, 'current_datetime');
  if (clock && /\b(time|date|today|what day|weekday)\b/i.test(userText)) picks.push({ name: clock, arguments: {} });
  const wordCount = offered(offeredTools, 'word_count');
  if (wordCount && /\b(count (the )?words|word count|how many words)\b/i.test(userText)) picks.push({ name: wordCount, arguments: { text: subject(userText) } });
  const echo = offered(offeredTools, 'echo');
  if (echo && /\becho\b/i.test(userText)) picks.push({ name: echo, arguments: { message: subject(userText) } });
  const slowCount = offered(offeredTools, 'slow_count');
  if (slowCount && /\b(count slowly|slow count)\b/i.test(userText)) picks.push({ name: slowCount, arguments: { seconds: 10, steps: 10 } });
  return picks.map((pick, position) => ({ id: idFor(pick.name, position), name: pick.name, arguments: JSON.stringify(pick.arguments) }));
}
