import type { FastifyRequest } from 'fastify';
import type { Strategy } from 'passport-strategy';

export type StrategyOutcome<User> = { user: User } | { user: false; message?: string };

/**
 * Runs one Passport strategy against a Fastify request, the way passport.authenticate does it internally
 * (a per-request copy of the strategy with success/fail/error actions), without passport's session layer:
 * durachat is stateless (JWT), like LibreChat's `passport.authenticate('jwt', { session: false })`.
 */
export function runStrategy<User>(strategy: Strategy, request: FastifyRequest): Promise<StrategyOutcome<User>> {
  return new Promise((resolve, reject) => {
    const attempt = Object.create(strategy) as Strategy & {
      success: (user: User) => void;
      fail: (challenge?: unknown) => void;
      error: (error: Error) => void;
      pass: () => void;
      redirect: () => void;
    };
    attempt.success = (user) => resolve({ user });
    attempt.fail = (challenge) => {
      const message = typeof challenge === 'object' && challenge && 'message' in challenge ? String((challenge as { message: unknown }).message) : undefined;
      resolve({ user: false, message });
    };
    attempt.error = (error) => reject(error);
    attempt.pass = () => resolve({ user: false });
    attempt.redirect = () => resolve({ user: false });
    // Passport strategies read `headers` and `body`, which Fastify's request has in the same shape.
    attempt.authenticate(request as never, {});
  });
}
