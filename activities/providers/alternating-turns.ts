import type { PromptMessage } from './provider.ts';

/**
 * The system text apart, and user/assistant turns alternating as Anthropic's Messages API and Bedrock's
 * Converse require: adjacent turns of one role are joined with a blank line.
 */
export function alternatingTurns(messages: PromptMessage[]): { system: string; turns: Array<{ role: 'user' | 'assistant'; text: string }> } {
  const system = messages.filter((message) => message.role === 'system').map((message) => message.content).join('\n\n');
  const turns: Array<{ role: 'user' | 'assistant'; text: string }> = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const last = turns.at(-1);
    if (last && last.role === message.role) last.text = `${last.text}\n\n${message.content}`;
    else turns.push({ role: message.role, text: message.content });
  }
  return { system, turns };
}
