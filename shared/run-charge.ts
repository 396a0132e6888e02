import { tokenRate, type BalanceConfig } from './balance-config.ts';
import { ensureBalance, recordTransaction } from './balance-ledger.ts';
import type { ChatRunInput, ReplyOutcome } from './chat-run.ts';
import type { RunEvent, UsageEvent } from './run-events.ts';

/** LibreChat's `cancelRate`: a cancelled turn's completion costs 15% more. */
export const CANCEL_RATE = 1.15;
/** Cache writes and reads against the prompt rate (Anthropic's prices; LibreChat's cacheTokenValues). */
const CACHE_WRITE_FACTOR = 1.25;
const CACHE_READ_FACTOR = 0.1;

export interface RunUsage {
  promptTokens: number;
  completionTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  source: 'usage' | 'estimate';
}

type CountTokens = (texts: string[]) => Promise<number[]>;

/** Without the Piscina pool (the API's sweeper): about four characters a token. */
export const estimateTokens: CountTokens = async (texts) => texts.map((text) => Math.ceil(text.length / 4));

/**
 * What a run used: the provider's last reported `usage` event, plus an estimate for anything generated
 * after it (an attempt cut off by an abort, a crash or a drop reports none). A run whose provider reported
 * nothing is estimated whole: the prompt from the request's text, the completion from what was streamed.
 * Google counts thoughts apart from the answer; the others include reasoning in their output count.
 */
export async function runUsage(events: RunEvent[], input: ChatRunInput, requestText: string, countTokens: CountTokens): Promise<RunUsage | undefined> {
  let lastUsageIndex = -1;
  events.forEach((event, index) => {
    if (event.type === 'usage') lastUsageIndex = index;
  });
  const usage = lastUsageIndex >= 0 ? (events[lastUsageIndex] as UsageEvent) : undefined;
  const uncovered = events
    .slice(lastUsageIndex + 1)
    .filter((event) => event.type === 'text' || event.type === 'reasoning' || event.type === 'tool_call')
    .map((event) => (event.type === 'tool_call' ? event.argumentsDelta : (event as { text: string }).text))
    .join('');
  if (!usage && !uncovered) return undefined;
  const [uncoveredTokens = 0] = uncovered ? await countTokens([uncovered]) : [0];
  if (usage) {
    const reportedCompletion = usage.outputTokens + (input.endpointType === 'google' ? (usage.reasoningTokens ?? 0) : 0);
    return {
      promptTokens: usage.inputTokens,
      completionTokens: reportedCompletion + uncoveredTokens,
      cacheWriteTokens: usage.cacheWriteTokens ?? 0,
      cacheReadTokens: usage.cacheReadTokens ?? 0,
      source: 'usage',
    };
  }
  const promptText = [input.parameters.system, input.parameters.promptPrefix, requestText, input.continuedText].filter(Boolean).join('\n\n');
  const [promptTokens = 0] = await countTokens([promptText]);
  return { promptTokens, completionTokens: uncoveredTokens, cacheWriteTokens: 0, cacheReadTokens: 0, source: 'estimate' };
}

/**
 * Charges a run for its usage: a prompt and a completion transaction keyed by the run's stream id, each
 * applied to the balance exactly once (shared/balance-ledger.ts), so closeRun may run any number of times
 * (finishRun retries, the sweeper after a terminated workflow) and the run is charged once.
 */
export async function chargeRun(
  balance: BalanceConfig,
  input: ChatRunInput,
  outcome: ReplyOutcome,
  events: RunEvent[],
  requestText: string,
  countTokens: CountTokens = estimateTokens,
): Promise<RunUsage | undefined> {
  if (!balance.enabled) return undefined;
  const usage = await runUsage(events, input, requestText, countTokens);
  if (!usage) return undefined;
  await ensureBalance(input.userId, balance);
  const context = outcome.status === 'aborted' ? 'incomplete' : 'message';
  const common = { user: input.userId, runId: input.streamId, conversationId: input.conversationId, messageId: input.responseMessageId, model: input.model, context, valueKey: input.model, source: usage.source };

  const promptRate = tokenRate(balance, input.model, 'prompt');
  const promptInput = usage.promptTokens;
  const promptValue = promptInput * promptRate + usage.cacheWriteTokens * promptRate * CACHE_WRITE_FACTOR + usage.cacheReadTokens * promptRate * CACHE_READ_FACTOR;
  await recordTransaction({
    ...common,
    tokenType: 'prompt',
    rate: promptRate,
    rawAmount: -(promptInput + usage.cacheWriteTokens + usage.cacheReadTokens),
    tokenValue: -Math.ceil(promptValue),
    inputTokens: promptInput,
    ...(usage.cacheWriteTokens || usage.cacheReadTokens ? { writeTokens: usage.cacheWriteTokens, readTokens: usage.cacheReadTokens } : {}),
  });

  const completionRate = tokenRate(balance, input.model, 'completion');
  const completionValue = usage.completionTokens * completionRate * (context === 'incomplete' ? CANCEL_RATE : 1);
  await recordTransaction({ ...common, tokenType: 'completion', rate: completionRate, rawAmount: -usage.completionTokens, tokenValue: -Math.ceil(completionValue) });
  return usage;
}

export interface CompletionCharge {
  userId: string;
  /** Unique per call: the charge is keyed by it, so a retried call is charged once. */
  chargeId: string;
  conversationId: string;
  model: string;
  /** LibreChat's transaction context: `title` for titles. */
  context: string;
  /** The provider's reported usage, when it reported one. */
  usage?: { inputTokens: number; outputTokens: number };
  promptText: string;
  completionText: string;
}

/**
 * Charges a non-streaming model call (a title today; agents' side calls later) the same way a reply is
 * charged: a prompt and a completion transaction at the model's rates, from the provider's usage or,
 * when it reported none, from counted tokens. Exactly once per `chargeId` (shared/balance-ledger.ts).
 */
export async function chargeCompletion(balance: BalanceConfig, charge: CompletionCharge, countTokens: CountTokens = estimateTokens): Promise<void> {
  if (!balance.enabled) return;
  const [promptTokens = 0, completionTokens = 0] = charge.usage ? [charge.usage.inputTokens, charge.usage.outputTokens] : await countTokens([charge.promptText, charge.completionText]);
  await ensureBalance(charge.userId, balance);
  const common = { user: charge.userId, runId: charge.chargeId, conversationId: charge.conversationId, model: charge.model, context: charge.context, valueKey: charge.model, source: charge.usage ? 'usage' : 'estimate' };
  const promptRate = tokenRate(balance, charge.model, 'prompt');
  await recordTransaction({ ...common, tokenType: 'prompt', rate: promptRate, rawAmount: -promptTokens, tokenValue: -Math.ceil(promptTokens * promptRate), inputTokens: promptTokens });
  const completionRate = tokenRate(balance, charge.model, 'completion');
  await recordTransaction({ ...common, tokenType: 'completion', rate: completionRate, rawAmount: -completionTokens, tokenValue: -Math.ceil(completionTokens * completionRate) });
}
