import type { PromptImage, PromptMessage } from './provider.ts';

/** One piece of a turn, in terms both Anthropic's content blocks and Converse's map to one for one. */
export type TurnBlock =
  | { type: 'text'; text: string }
  /** An image the user attached (vision input): Anthropic's base64 image block, Converse's image block. */
  | { type: 'image'; image: PromptImage }
  /** `input` is the call's arguments parsed: both APIs take an object here, not the JSON text. */
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; toolUseId: string; content: string; isError: boolean };

export interface Turn {
  role: 'user' | 'assistant';
  blocks: TurnBlock[];
}

export interface AlternatingTurnsOptions {
  /**
   * Write tool calls and results as text instead of blocks. For a request that offers no tools: Converse
   * refuses toolUse/toolResult blocks without a toolConfig (Anthropic has refused them without tools too),
   * and a title or a tool-less reply still needs to see what the tools said.
   */
  toolsAsText?: boolean;
}

/**
 * A call's arguments as the object both APIs require. The model wrote JSON text; text that is not a JSON
 * object (a call cut off mid-stream) cannot be sent as written, so it goes as an empty object: the
 * tool's result, which says what went wrong with the call, still travels next to it.
 */
export function parseToolArguments(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Not JSON: falls through to the empty object.
  }
  return {};
}

function append(turns: Turn[], role: Turn['role'], block: TurnBlock) {
  let turn = turns.at(-1);
  if (!turn || turn.role !== role) {
    turn = { role, blocks: [] };
    turns.push(turn);
  }
  const previous = turn.blocks.at(-1);
  if (block.type === 'text' && previous?.type === 'text') {
    previous.text = `${previous.text}\n\n${block.text}`;
  } else if (block.type === 'tool_result') {
    // Both APIs want a user turn to open with its tool results ("Did not find N tool_result block(s) at
    // the beginning of this message"), so a result goes after the results already there, before any text.
    const firstOther = turn.blocks.findIndex((existing) => existing.type !== 'tool_result');
    if (firstOther === -1) turn.blocks.push(block);
    else turn.blocks.splice(firstOther, 0, block);
  } else {
    turn.blocks.push(block);
  }
}

/**
 * The system text apart, and user/assistant turns alternating as Anthropic's Messages API and Bedrock's
 * Converse require: adjacent turns of one role are merged (texts joined with a blank line, images kept in
 * place before the text they came with). An assistant
 * message's tool calls become tool_use blocks after its text; each `tool` message becomes a tool_result
 * block in a user turn, so the results of parallel calls share the one user turn both APIs expect.
 */
export function alternatingTurns(messages: PromptMessage[], options: AlternatingTurnsOptions = {}): { system: string; turns: Turn[] } {
  const system = messages.filter((message) => message.role === 'system').map((message) => message.content).join('\n\n');
  const turns: Turn[] = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    if (message.role === 'tool') {
      if (options.toolsAsText) append(turns, 'user', { type: 'text', text: `[${message.name} ${message.isError ? 'failed' : 'returned'}: ${message.content}]` });
      else append(turns, 'user', { type: 'tool_result', toolUseId: message.toolCallId, content: message.content, isError: message.isError === true });
      continue;
    }
    const calls = message.role === 'assistant' ? (message.toolCalls ?? []) : [];
    // A user message's images go before its text, as Anthropic recommends ("images before text"); merged
    // user messages keep each one's images in front of its own text. A text block after an image is not
    // joined to the text before that image, so the order survives merging.
    const images = message.role === 'user' ? (message.images ?? []) : [];
    for (const image of images) append(turns, 'user', { type: 'image', image });
    // An assistant turn that only calls tools has no text, an image-only user message neither; an empty text
    // block is refused by both APIs.
    if (message.content || (calls.length === 0 && images.length === 0)) append(turns, message.role, { type: 'text', text: message.content });
    for (const call of calls) {
      if (options.toolsAsText) append(turns, 'assistant', { type: 'text', text: `[called ${call.name} with ${call.arguments || '{}'}]` });
      else append(turns, 'assistant', { type: 'tool_use', id: call.id, name: call.name, input: parseToolArguments(call.arguments) });
    }
  }
  return { system, turns };
}

/**
 * Whether this request continues a tool loop: the last assistant turn called tools and only their results
 * follow. Extended thinking then needs that turn's signed thinking blocks sent back, which prompts do not
 * carry, so providers leave thinking off for such a request (as for a prefill).
 */
export function continuesToolLoop(messages: PromptMessage[]): boolean {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index]!;
    if (message.role === 'tool') continue;
    return message.role === 'assistant' && (message.toolCalls?.length ?? 0) > 0 && index < messages.length - 1;
  }
  return false;
}
