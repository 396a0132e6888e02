/**
 * What the fake provider answers, decided from the request alone so that a retry gets the same reply.
 *
 * Models: `demo-fast` (300 tokens, as fast as the socket allows), `demo-slow` (150 tokens at 10/s).
 * Directives in the last user message steer tests and benchmarks:
 *   [tokens=N rate=T]             N tokens at T tokens/s (0 = no delay); any group may hold these
 *   [fail=STATUS times=K key=ID]  the first K requests carrying key ID answer STATUS (429, 500, 401...)
 *   [drop=N times=K key=ID]       the first K such requests close the connection after N tokens
 * Counters for `times` live in the server process.
 */
export interface ReplyPlan {
  tokens: string[];
  tokensPerSecond: number;
  fail?: { status: number; times: number; key: string };
  drop?: { afterTokens: number; times: number; key: string };
}

const WORDS = (
  'durable replies travel through temporal workflows and redis streams so a closed tab or a restarted ' +
  'server never loses a single token of the answer the model is writing for you right now while ' +
  'operators watch every run and users resume exactly where they stopped reading'
).split(' ');

function hash(text: string): number {
  let value = 2166136261;
  for (let index = 0; index < text.length; index += 1) value = Math.imul(value ^ text.charCodeAt(index), 16777619);
  return value >>> 0;
}

export function replyTokens(seedText: string, count: number): string[] {
  const tokens: string[] = [];
  let state = hash(seedText) || 1;
  for (let index = 0; index < count; index += 1) {
    state = Math.imul(state ^ (state >>> 15), 2246822507) >>> 0;
    const word = WORDS[state % WORDS.length]!;
    tokens.push(index === 0 ? word[0]!.toUpperCase() + word.slice(1) : ` ${word}`);
    if (index % 17 === 16) tokens[index] += '.';
  }
  return tokens;
}

/** Every `[key=value key=value]` group in the text, each as its own map. */
function directiveGroups(text: string): Array<Record<string, string>> {
  return [...text.matchAll(/\[([^\]]+)\]/g)].map((match) => {
    const fields: Record<string, string> = {};
    for (const part of match[1]!.trim().split(/\s+/)) {
      const [key, value] = part.split('=');
      if (key && value) fields[key] = value;
    }
    return fields;
  });
}

export interface ChatMessage {
  role: string;
  content: string;
}

export function planReply(model: string, messages: ChatMessage[]): ReplyPlan {
  const lastUser = [...messages].reverse().find((message) => message.role === 'user')?.content ?? '';
  const system = messages.find((message) => message.role === 'system')?.content ?? '';
  // Title requests (activities/generate-title.ts) get a short title built from the conversation.
  if (/conversation title/i.test(system)) {
    const source = /^User:\s*(.*)$/m.exec(lastUser)?.[1] ?? lastUser;
    const words = source.replace(/\[[^\]]*\]/g, '').split(/\s+/).filter(Boolean).slice(0, 5);
    return { tokens: [`Chat: ${words.join(' ') || 'new conversation'}`], tokensPerSecond: 0 };
  }
  const groups = directiveGroups(lastUser);
  const find = (name: string) => groups.find((group) => group[name] !== undefined);
  const defaultCount = model === 'demo-slow' ? 150 : 300;
  const defaultRate = model === 'demo-slow' ? 10 : 0;
  const count = Math.min(Number(find('tokens')?.tokens ?? defaultCount), 20000);
  // The reply depends on the whole conversation, so each turn of a chat gets its own text.
  const seed = messages.filter((message) => message.role !== 'assistant').map((message) => message.content).join('\n');
  const plan: ReplyPlan = { tokens: replyTokens(seed, count), tokensPerSecond: Number(find('rate')?.rate ?? defaultRate) };
  const fail = find('fail');
  if (fail) plan.fail = { status: Number(fail.fail), times: Number(fail.times ?? 1), key: fail.key ?? lastUser };
  const drop = find('drop');
  if (drop) plan.drop = { afterTokens: Number(drop.drop), times: Number(drop.times ?? 1), key: drop.key ?? lastUser };
  return plan;
}

/**
 * A continuation request ends with the assistant's partial reply: answer only what comes after it, so
 * partial + continuation is exactly the full reply (what a real model is asked to do on a retry).
 */
export function remainingTokens(plan: ReplyPlan, messages: ChatMessage[]): string[] {
  const last = messages.at(-1);
  if (!last || last.role !== 'assistant' || !last.content) return plan.tokens;
  let consumed = '';
  for (let index = 0; index < plan.tokens.length; index += 1) {
    if (consumed === last.content) return plan.tokens.slice(index);
    consumed += plan.tokens[index];
    if (consumed.length > last.content.length && consumed.startsWith(last.content)) {
      // The partial ended inside a token: send the rest of that token first.
      return [consumed.slice(last.content.length), ...plan.tokens.slice(index + 1)];
    }
  }
  return consumed === last.content ? [] : plan.tokens;
}
