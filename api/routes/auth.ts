import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import { ForbiddenError, NotFoundError } from '../../shared/errors.ts';
import { runStrategy } from '../passport/run-strategy.ts';
import { createLocalStrategy, type AuthenticatedUser } from '../passport/strategies.ts';
import type { AccountLoginLimit } from '../plugins/rate-limit.ts';
import type { AuthService, IssuedTokens } from '../services/auth-service.ts';
import { parseInput } from '../validation.ts';

const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(128, 'must be at most 128 characters');

const registerBody = z
  .object({
    name: z.string().trim().min(1, 'is required').max(80),
    username: z.string().trim().min(2).max(80).regex(/^[\w.@-]+$/, 'letters, digits and . _ @ - only').optional().or(z.literal('').transform(() => undefined)),
    email: z.email('must be a valid email').max(254),
    password: passwordSchema,
    confirm_password: z.string(),
  })
  .refine((body) => body.password === body.confirm_password, { message: 'Passwords do not match', path: ['confirm_password'] });

const loginBody = z.object({ email: z.email('must be a valid email').max(254), password: z.string().min(1).max(128) });

const REFRESH_COOKIE = 'refreshToken';

export async function authRoutes(
  app: FastifyInstance,
  options: {
    config: Config;
    auth: AuthService;
    loginLimit: (request: FastifyRequest) => Promise<void>;
    accountLoginLimit: AccountLoginLimit;
    registerLimit: (request: FastifyRequest) => Promise<void>;
  },
) {
  const { config, auth } = options;
  const localStrategy = createLocalStrategy();
  const cookieOptions = { httpOnly: true, secure: config.NODE_ENV === 'production', sameSite: 'strict' as const, path: '/' };

  function sendSession(reply: FastifyReply, issued: IssuedTokens) {
    reply.setCookie(REFRESH_COOKIE, issued.refreshToken, { ...cookieOptions, expires: issued.refreshExpires });
    reply.setCookie('token_provider', 'librechat', { ...cookieOptions, expires: issued.refreshExpires });
    return { token: issued.token, user: issued.user };
  }

  function clearSessionCookies(reply: FastifyReply) {
    reply.clearCookie(REFRESH_COOKIE, cookieOptions);
    reply.clearCookie('token_provider', cookieOptions);
  }

  app.post('/register', { preHandler: options.registerLimit }, async (request) => {
    const body = parseInput(registerBody, request.body);
    return auth.register(body);
  });

  // Refused before the IP limit, so a login form the operator has switched off spends no one's budget.
  async function requireEmailLogin() {
    if (!config.ALLOW_EMAIL_LOGIN) throw new ForbiddenError('Email login is not allowed.');
  }

  app.post('/login', { preHandler: [requireEmailLogin, options.loginLimit] }, async (request, reply) => {
    const { email } = parseInput(loginBody, request.body);
    const attempt = await options.accountLoginLimit.begin(email, request);
    const outcome = await runStrategy<AuthenticatedUser>(localStrategy, request);
    if (!outcome.user) {
      request.log.info('login refused: bad credentials');
      throw new NotFoundError(outcome.message ?? 'Invalid email or password');
    }
    await attempt.succeeded();
    return sendSession(reply, await auth.startSession(outcome.user));
  });

  app.post('/refresh', async (request, reply) => {
    const presented = request.cookies[REFRESH_COOKIE];
    // LibreChat's client calls this on every load; no cookie is not an error, just nothing to refresh.
    if (!presented) return reply.status(200).type('text/plain').send('Refresh token not provided');
    try {
      return sendSession(reply, await auth.refresh(presented));
    } catch (error) {
      clearSessionCookies(reply);
      throw error;
    }
  });

  app.post('/logout', async (request, reply) => {
    await auth.endSession(request.cookies[REFRESH_COOKIE]);
    clearSessionCookies(reply);
    return { message: 'Logout successful' };
  });
}
