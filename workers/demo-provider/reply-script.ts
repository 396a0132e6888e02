import { demoToolCalls } from './demo-tool-choice.ts';
import { describeImages, type SeenImage } from './vision-input.ts';

/**
 * What the fake provider answers, decided from the request alone so that a retry gets the same reply.
 *
 * Models: `demo-fast` (300 tokens at 150/s: a fast real model), `demo-slow` (150 tokens at 10/s).
 * Directives in the last user message steer tests and benchmarks:
 *   [tokens=N rate=T]             N tokens at T tokens/s (0 = no delay); any group may hold these
 *   [fail=STATUS times=K key=ID]  the first K requests carrying key ID answer STATUS (429, 500, 401...)
 *   [... after=M]                 (with fail) the first M requests succeed, the K after them fail
 *   [drop=N times=K key=ID]       the first K such requests close the connection after N tokens
 *   [stall=N times=K key=ID]      the first K such requests go silent after N tokens (connection kept open)
 *   [tool=NAME] / [tool=A,B]      call the named tool(s), in parallel, when the request offers them (a
 *                                 model never calls a tool it was not given); a few words of text come
 *                                 first, then the calls, then the turn ends with finish reason tool calls.
 *                                 Once the conversation holds the results, the reply quotes them
 *                                 ("Tool NAME said: ...") before its usual text.
 *   [tool=A arg.K=V ...]          the call's arguments: {"K": "V", ...} (default {"query": ..., "position": i})
 *   [tool=A then=B]               a second round: once A's results are in, call B, then answer
 *   [tool=A rounds=N]             call A again after each result, N rounds in all, then answer (agent loops)
 *   describe the image            (any case, anywhere in the text) the reply lists the images attached to
 *                                 that last user message, in order, instead of the usual words:
 *                                 `I see 2 image(s): image/png 68 bytes; image/jpeg 1024 bytes` (bytes as
 *                                 decoded); an image given by URL shows as `url <url>` (the fake fetches
 *                                 nothing). No tool calls then; fail/drop/stall directives still apply.
 *                                 Every wire protocol's server hands its images over in ChatMessage.images,
 *                                 so all four answer identically.
 *   [echo=user]                   the reply is the last user message's text as the model received it (with
 *                                 attached files' text); no tool calls then
 *
 * Continuing a cut-off reply behaves as OpenAI's chat models do: a trailing assistant message is not a
 * prefix to extend (the model starts a new answer), but an explicit user instruction to continue after
 * a partial answer is followed (activities/providers/provider.ts, CONTINUE_INSTRUCTION).
 * Counters for `times` live in the server process.
 */
export interface PlannedToolCall {
  /** Deterministic (a retry gets the same id); each server adds its provider's prefix. */
  id: string;
  name: string;
  /** JSON text of the arguments; servers stream it in several pieces. */
  arguments: string;
}

export interface ReplyPlan {
  tokens: string[];
  /** Calls to make after the tokens; the turn then ends for tools instead of with an answer. */
  toolCalls?: PlannedToolCall[];
  tokensPerSecond: number;
  fail?: { status: number; times: number; key: string; after: number };
  drop?: { afterTokens: number; times: number; key: string };
  stall?: { afterTokens: number; times: number; key: string };
}

/** Whether a message asks the model to continue its previous, cut-off answer. */
export function isContinueRequest(message: ChatMessage | undefined): boolean {
  return message?.role === 'user' && /continue it from exactly where it stopped/i.test(message.content);
}

/** The conversation without a trailing "continue" request: what the reply is planned from. */
function withoutContinueRequest(messages: ChatMessage[]): ChatMessage[] {
  return isContinueRequest(messages.at(-1)) && messages.at(-2)?.role === 'assistant' ? messages.slice(0, -1) : messages;
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

/**
 * A message as every wire protocol's server hands it to the script: `tool` messages carry a call's
 * result (OpenAI tool messages, Anthropic tool_result, Gemini functionResponse, Bedrock toolResult),
 * assistant messages the calls they made.
 */
export interface ChatMessage {
  role: string;
  content: string;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  toolCallId?: string;
  name?: string;
  /** The images a user message carried (vision input), in the order the request gave them; absent when none. */
  images?: SeenImage[];
}

/** The tool results since the last user message: what the model has to say something about. */
function pendingToolResults(messages: ChatMessage[]): ChatMessage[] {
  const results: ChatMessage[] = [];
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index]!;
    if (message.role === 'user') break;
    if (message.role === 'tool') results.unshift(message);
  }
  return results;
}

function plannedToolCalls(names: string, offered: string[], seed: string, group: Record<string, string>, round: number): PlannedToolCall[] {
  const calls: PlannedToolCall[] = [];
  const query = seed.replace(/\[[^\]]*\]/g, '').split(/\s+/).filter(Boolean).slice(0, 4).join(' ');
  // Numbers stay numbers (`arg.seconds=3` → {"seconds": 3}), as a model fills a number-typed argument.
  const given = Object.entries(group)
    .filter(([key]) => key.startsWith('arg.'))
    .map(([key, value]) => [key.slice(4), /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value] as const);
  names.split(',').filter((name) => offered.includes(name)).forEach((name, position) => {
    const id = `${(hash(`${seed}\n${name}\n${position}\n${round}`) >>> 0).toString(36)}${position}`;
    calls.push({ id, name, arguments: JSON.stringify(given.length > 0 ? Object.fromEntries(given) : { query: query || 'nothing', position }) });
  });
  return calls;
}

/** How many tool results answer the last round of calls (the trailing run of tool messages). */
function countLastRoundResults(messages: ChatMessage[]): number {
  let count = 0;
  for (let index = messages.length - 1; index >= 0 && messages[index]!.role === 'tool'; index -= 1) count += 1;
  return count;
}

/** Rounds of tool calls the model has made since the user's last message. */
function toolRoundsSinceUser(messages: ChatMessage[]): number {
  let rounds = 0;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index]!;
    if (message.role === 'user') break;
    if (message.role === 'assistant' && (message.toolCalls?.length ?? 0) > 0) rounds += 1;
  }
  return rounds;
}

export function planReply(model: string, allMessages: ChatMessage[], offeredTools: string[] = []): ReplyPlan {
  const messages = withoutContinueRequest(allMessages);
  const lastUserMessage = [...messages].reverse().find((message) => message.role === 'user');
  const lastUser = lastUserMessage?.content ?? '';
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
  // demo-fast streams like a fast real model (300 tokens in 2 s), so the demo shows streaming and no client
  // sees an instant reply; a `tokens` directive (tests, benchmarks) keeps replies instant unless it sets a rate.
  const defaultRate = model === 'demo-slow' ? 10 : find('tokens') ? 0 : 150;
  const count = Math.min(Number(find('tokens')?.tokens ?? defaultCount), 20000);
  // The reply depends on the whole conversation, so each turn of a chat gets its own text.
  const seed = messages.filter((message) => message.role !== 'assistant').map((message) => message.content).join('\n');
  const plan: ReplyPlan = { tokens: replyTokens(seed, count), tokensPerSecond: Number(find('rate')?.rate ?? defaultRate) };
  const results = pendingToolResults(messages);
  const toolGroup = find('tool');
  const sequence = toolGroup ? [toolGroup.tool!, ...(toolGroup.then ? [toolGroup.then] : [])] : [];
  const roundsDone = toolRoundsSinceUser(messages);
  const rounds = Math.min(Number(toolGroup?.rounds ?? sequence.length), 10_000);
  // Results are quoted (the last round's), so a test sees that each result reached the model. A partial answer
  // being continued (a trailing assistant message without calls) answers the same round: same quotes.
  const trailing = messages.at(-1);
  const answered = trailing?.role === 'assistant' && !trailing.toolCalls?.length ? messages.slice(0, -1) : messages;
  const lastResults = results.slice(results.length - (answered.filter((message) => message.role === 'tool').length > 0 ? countLastRoundResults(answered) : 0));
  const quotes = lastResults.map((result) => `Tool ${result.name ?? result.toolCallId ?? 'unknown'} said: ${result.content.slice(0, 200)}\n`);
  const toolCalls =
    toolGroup && roundsDone < rounds
      ? plannedToolCalls(sequence[Math.min(roundsDone, sequence.length - 1)]!, offeredTools, lastUser, toolGroup, roundsDone)
      : !toolGroup && roundsDone === 0 && directiveGroups(lastUser).length === 0
        ? demoToolCalls(lastUser, offeredTools, (name, position) => `${hash(`${lastUser}\n${name}\n${position}`).toString(36)}${position}`)
        : [];
  if (/describe the image/i.test(lastUser)) {
    // Vision input: the reply names what reached the model, word by word so it streams like any reply.
    plan.tokens = describeImages(lastUserMessage?.images ?? []).split(/(?= )/);
  } else if (find('echo')) {
    // What reached the model (attached files' text included), instantly unless a rate is given.
    plan.tokens = lastUser.split(/(?= )/);
    plan.tokensPerSecond = Number(find('rate')?.rate ?? 0);
  } else if (toolCalls.length > 0) {
    plan.tokens = [...quotes, ...plan.tokens.slice(0, 3)];
    plan.toolCalls = toolCalls;
  } else if (results.length > 0) {
    plan.tokens = [...quotes, ...plan.tokens];
  }
  const fail = find('fail');
  if (fail) plan.fail = { status: Number(fail.fail), times: Number(fail.times ?? 1), key: fail.key ?? lastUser, after: Number(fail.after ?? 0) };
  const drop = find('drop');
  if (drop) plan.drop = { afterTokens: Number(drop.drop), times: Number(drop.times ?? 1), key: drop.key ?? lastUser };
  const stall = find('stall');
  if (stall) plan.stall = { afterTokens: Number(stall.stall), times: Number(stall.times ?? 1), key: stall.key ?? lastUser };
  return plan;
}

/**
 * A request to continue a partial answer (the answer, then the instruction) gets only what comes after
 * the partial, so partial + continuation is exactly the full reply. A bare trailing assistant message
 * gets the whole reply again, as from OpenAI: a client that relied on prefill would show it twice.
 */
export function remainingTokens(plan: ReplyPlan, messages: ChatMessage[]): string[] {
  if (!isContinueRequest(messages.at(-1))) return plan.tokens;
  const last = messages.at(-2);
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
