import type { FastifyInstance } from 'fastify';
import type { BalanceConfig } from '../../shared/balance-config.ts';
import { currentBalance } from '../../shared/balance-ledger.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';

/**
 * `GET /api/balance` in LibreChat's shape: the refill fields only when auto-refill is on. With balances
 * off LibreChat's client never asks (its `balance.enabled` is false); durachat then answers as LibreChat
 * does for a user without a balance document: 404 `{error: 'Balance not found'}`.
 */
export async function balanceRoutes(app: FastifyInstance, options: { balance: BalanceConfig }) {
  const { balance } = options;
  app.get('/api/balance', { preHandler: app.requireJwt }, async (request, reply) => {
    if (!balance.enabled) return reply.status(404).send({ error: 'Balance not found' });
    const current = await currentBalance(authenticatedUser(request).id, balance);
    return {
      tokenCredits: current.tokenCredits,
      autoRefillEnabled: current.autoRefillEnabled,
      ...(current.autoRefillEnabled
        ? { refillIntervalValue: current.refillIntervalValue, refillIntervalUnit: current.refillIntervalUnit, lastRefill: current.lastRefill, refillAmount: current.refillAmount }
        : {}),
    };
  });
}
