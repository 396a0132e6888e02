import bcrypt from 'bcryptjs';
import mongoose from 'mongoose';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../shared/config.ts';
import { ForbiddenError, UnauthorizedError } from '../../shared/errors.ts';
import { Session, SystemRoles, User, toPublicUser } from '../../shared/models/index.ts';
import type { AuthenticatedUser } from '../passport/strategies.ts';
import { hashToken, type TokenService } from './token-service.ts';

export interface RegistrationInput {
  name: string;
  username?: string;
  email: string;
  password: string;
}

export interface IssuedTokens {
  token: string;
  refreshToken: string;
  refreshExpires: Date;
  user: AuthenticatedUser;
}

const GENERIC_REGISTRATION_MESSAGE = 'Registration complete. You can now log in.';

export function createAuthService(deps: {
  config: Pick<Config, 'ALLOW_REGISTRATION' | 'REFRESH_TOKEN_EXPIRY'>;
  tokens: TokenService;
  log: FastifyBaseLogger;
}) {
  const { config, tokens, log } = deps;

  function accessTokenFor(user: AuthenticatedUser) {
    return tokens.signAccessToken({ id: user.id, username: user.username ?? '', provider: String(user.provider ?? 'local'), email: user.email ?? '' });
  }

  return {
    /**
     * The first account becomes ADMIN. An email that is already registered gets the same answer as a new
     * one, so registration cannot be used to find out who has an account.
     */
    async register(input: RegistrationInput): Promise<{ message: string }> {
      if (!config.ALLOW_REGISTRATION) throw new ForbiddenError('Registration is not allowed.');
      const email = input.email.trim().toLowerCase();
      if (await User.exists({ email })) {
        log.info({ email }, 'registration for an existing email ignored');
        return { message: GENERIC_REGISTRATION_MESSAGE };
      }
      const isFirstUser = (await User.estimatedDocumentCount()) === 0 && (await User.countDocuments({})) === 0;
      const password = await bcrypt.hash(input.password, 10);
      try {
        await User.create({
          name: input.name,
          username: input.username ?? '',
          email,
          password,
          emailVerified: true,
          provider: 'local',
          role: isFirstUser ? SystemRoles.ADMIN : SystemRoles.USER,
        });
      } catch (error) {
        // Two registrations of one email at once: the unique index keeps one, the other gets the same answer.
        if ((error as { code?: number }).code === 11000) return { message: GENERIC_REGISTRATION_MESSAGE };
        throw error;
      }
      log.info({ email, role: isFirstUser ? SystemRoles.ADMIN : SystemRoles.USER }, 'user registered');
      return { message: GENERIC_REGISTRATION_MESSAGE };
    },

    /** Starts a session: the refresh token's hash is stored, the token itself only goes to the cookie. */
    async startSession(user: AuthenticatedUser): Promise<IssuedTokens> {
      await Session.deleteMany({ user: user.id, expiration: { $lt: new Date() } });
      const sessionId = new mongoose.Types.ObjectId();
      const refreshExpires = new Date(Date.now() + config.REFRESH_TOKEN_EXPIRY);
      const refreshToken = tokens.signRefreshToken({ id: user.id, sessionId: String(sessionId) });
      await Session.create({ _id: sessionId, user: user.id, refreshTokenHash: hashToken(refreshToken), expiration: refreshExpires });
      return { token: accessTokenFor(user), refreshToken, refreshExpires, user };
    },

    /**
     * Rotation: the presented token must be the session's current one. The swap is one conditional update,
     * so two refreshes racing with the same token cannot both win. A token that was already rotated away
     * means it leaked or was replayed: the whole session ends.
     */
    async refresh(presentedToken: string): Promise<IssuedTokens> {
      const claims = tokens.verifyRefreshToken(presentedToken);
      if (!claims || !mongoose.isValidObjectId(claims.sessionId)) throw new UnauthorizedError('Invalid refresh token');
      const session = await Session.findById(claims.sessionId).lean<{ _id: unknown; user: unknown; expiration: Date; refreshTokenHash: string }>();
      if (!session || String(session.user) !== claims.id) throw new UnauthorizedError('Session not found');
      if (session.expiration.getTime() <= Date.now()) {
        await Session.deleteOne({ _id: claims.sessionId });
        throw new UnauthorizedError('Session expired');
      }
      const userDocument = await User.findById(claims.id).lean<Record<string, unknown> & { _id: unknown }>();
      if (!userDocument) throw new UnauthorizedError('User not found');
      const user = toPublicUser(userDocument) as AuthenticatedUser;
      const refreshToken = tokens.signRefreshToken({ id: user.id, sessionId: claims.sessionId });
      const refreshExpires = new Date(Date.now() + config.REFRESH_TOKEN_EXPIRY);
      const rotated = await Session.updateOne(
        { _id: claims.sessionId, refreshTokenHash: hashToken(presentedToken) },
        { $set: { refreshTokenHash: hashToken(refreshToken), expiration: refreshExpires } },
      );
      if (rotated.modifiedCount !== 1) {
        await Session.deleteOne({ _id: claims.sessionId });
        log.warn({ userId: claims.id, sessionId: claims.sessionId }, 'reused refresh token: session ended');
        throw new UnauthorizedError('Refresh token was already used; the session has been ended');
      }
      return { token: accessTokenFor(user), refreshToken, refreshExpires, user };
    },

    async endSession(presentedToken: string | undefined): Promise<void> {
      const claims = presentedToken ? tokens.verifyRefreshToken(presentedToken) : undefined;
      if (claims && mongoose.isValidObjectId(claims.sessionId)) await Session.deleteOne({ _id: claims.sessionId, user: claims.id });
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;
