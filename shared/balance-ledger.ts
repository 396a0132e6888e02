import type { BalanceConfig } from './balance-config.ts';
import { insertIfAbsent } from './insert-if-absent.ts';
import { Balance, Transaction } from './models/index.ts';

export interface BalanceDocument {
  user: string;
  tokenCredits: number;
  autoRefillEnabled: boolean;
  refillIntervalValue: number;
  refillIntervalUnit: BalanceConfig['refillIntervalUnit'];
  lastRefill: Date;
  refillAmount: number;
}

export interface TransactionDocument {
  _id: unknown;
  user: string;
  runId: string;
  tokenType: 'prompt' | 'completion' | 'credits';
  tokenValue: number;
  applied: boolean;
}

const UNIT_MS: Record<Exclude<BalanceConfig['refillIntervalUnit'], 'months'>, number> = {
  seconds: 1000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/** When the next auto-refill is due (months are calendar months, as LibreChat adds them). */
export function nextRefillAt(balance: Pick<BalanceDocument, 'lastRefill' | 'refillIntervalValue' | 'refillIntervalUnit'>): Date {
  const last = new Date(balance.lastRefill);
  if (balance.refillIntervalUnit === 'months') {
    const next = new Date(last);
    next.setMonth(next.getMonth() + balance.refillIntervalValue);
    return next;
  }
  return new Date(last.getTime() + balance.refillIntervalValue * UNIT_MS[balance.refillIntervalUnit]);
}

/**
 * The user's balance document, created with `startBalance` on first use (LibreChat creates it at login;
 * durachat on the first balance read or chat, which covers users who registered before balances were
 * on). The auto-refill settings follow the config, as LibreChat's `setBalanceConfig` syncs them.
 */
export async function ensureBalance(userId: string, config: BalanceConfig): Promise<BalanceDocument> {
  const settings = {
    autoRefillEnabled: config.autoRefillEnabled,
    refillIntervalValue: config.refillIntervalValue,
    refillIntervalUnit: config.refillIntervalUnit,
    refillAmount: config.refillAmount,
  };
  await insertIfAbsent(Balance, { user: userId, tokenCredits: config.startBalance, lastRefill: new Date(), ...settings });
  const balance = await Balance.findOne({ user: userId }).lean<BalanceDocument>();
  if (!balance) throw new Error('balance document vanished');
  const stale = (Object.keys(settings) as Array<keyof typeof settings>).some((key) => balance[key] !== settings[key]);
  if (!stale) return balance;
  return (await Balance.findOneAndUpdate({ user: userId }, { $set: settings }, { returnDocument: 'after' }).lean<BalanceDocument>()) ?? balance;
}

/**
 * Adds a transaction's `tokenValue` to the user's balance exactly once, however often it is retried.
 *
 * FerretDB has no multi-document transactions, so "insert the transaction" and "change the balance"
 * cannot commit together. Instead every step is a single-document write that is safe to repeat:
 *  1. the transaction is inserted with `applied: false` (insert-if-absent on its unique `{runId, tokenType}`);
 *  2. the balance gets `$inc` AND `$push pendingCharges: <transaction id>` in one update whose filter
 *     requires the id to be absent: a repeat of this step matches nothing, so the amount goes in once;
 *  3. the transaction is marked `applied: true`;
 *  4. the id is pulled from `pendingCharges` (which only keeps the list short).
 * A crash between any two steps is healed by the retry: before 2 it applies, after 2 it finds the id and
 * skips to 3, after 3 it sees `applied` and only cleans up. `extraFilter`/`extraSet` ride along on step 2
 * (an auto-refill's "still due" condition and its new `lastRefill`).
 */
export async function applyTransaction(transaction: TransactionDocument, options: { extraFilter?: Record<string, unknown>; extraSet?: Record<string, unknown> } = {}): Promise<boolean> {
  const id = String(transaction._id);
  if (transaction.applied) {
    await Balance.updateOne({ user: transaction.user, pendingCharges: id }, { $pull: { pendingCharges: id } });
    return false;
  }
  const result = await Balance.updateOne(
    { user: transaction.user, pendingCharges: { $ne: id }, ...options.extraFilter },
    { $inc: { tokenCredits: transaction.tokenValue }, $push: { pendingCharges: id }, ...(options.extraSet ? { $set: options.extraSet } : {}) },
  );
  // LibreChat never lets a balance go below 0. A separate write: a concurrent charge may race it, which
  // at worst leaves a balance at 0 a moment later than it could have been.
  if (result.modifiedCount > 0 && transaction.tokenValue < 0) await Balance.updateOne({ user: transaction.user, tokenCredits: { $lt: 0 } }, { $set: { tokenCredits: 0 } });
  await Transaction.updateOne({ _id: transaction._id }, { $set: { applied: true } });
  await Balance.updateOne({ user: transaction.user, pendingCharges: id }, { $pull: { pendingCharges: id } });
  return result.modifiedCount > 0;
}

/** Inserts (if absent) and applies a transaction keyed by `{runId, tokenType}`. */
export async function recordTransaction(document: Record<string, unknown> & { user: string; runId: string; tokenType: string; tokenValue: number }, options?: Parameters<typeof applyTransaction>[1]): Promise<void> {
  await insertIfAbsent(Transaction, { ...document, applied: false });
  const transaction = await Transaction.findOne({ runId: document.runId, tokenType: document.tokenType }).lean<TransactionDocument>();
  if (!transaction) throw new Error('transaction vanished');
  await applyTransaction(transaction, options);
}

/**
 * LibreChat refills on the balance check once the interval has passed. Keyed by the refill it replaces
 * (`lastRefill`): concurrent checks write one transaction and, through `extraFilter`, add it once.
 */
export async function refillIfDue(balance: BalanceDocument, now = new Date()): Promise<BalanceDocument> {
  if (!balance.autoRefillEnabled || balance.refillAmount <= 0 || now < nextRefillAt(balance)) return balance;
  const previous = new Date(balance.lastRefill);
  await recordTransaction(
    { user: balance.user, runId: `refill-${balance.user}-${previous.getTime()}`, tokenType: 'credits', context: 'autoRefill', rawAmount: balance.refillAmount, rate: 1, tokenValue: balance.refillAmount, source: 'refill' },
    { extraFilter: { lastRefill: previous }, extraSet: { lastRefill: now } },
  );
  return (await Balance.findOne({ user: balance.user }).lean<BalanceDocument>()) ?? balance;
}

/** The balance as a check sees it: created on first use, refilled when due. */
export async function currentBalance(userId: string, config: BalanceConfig): Promise<BalanceDocument> {
  return refillIfDue(await ensureBalance(userId, config));
}
