import bcrypt from 'bcryptjs';
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../shared/config.ts';
import { ForbiddenError, UnauthorizedError } from '../../shared/errors.ts';
import { insertIfAbsent } from '../../shared/insert-if-absent.ts';
import { FIRST_ADMIN_CLAIM_ID, FirstAdminClaim } from '../../shared/models/first-admin-claim.ts';
import { Session, SystemRoles, User, toPublicUser } from '../../shared/models/index.ts';
import { RefreshRotation } from '../../shared/models/refresh-rotation.ts';
import type { AuthenticatedUser } from '../passport/strategies.ts';
import { hashToken, type RefreshTokenClaims, type TokenService } from './token-service.ts';

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

interface SessionRecord {
  _id: mongoose.Types.ObjectId;
  user: mongoose.Types.ObjectId;
  refreshTokenHash: string;
  expiration: Date;
  absoluteExpiration?: Date;
}

interface RotationRecord {
  _id: string;
  session: mongoose.Types.ObjectId;
  rotatedAt: Date;
  expiration: Date;
}

const GENERIC_REGISTRATION_MESSAGE = 'Registration complete. You can now log in.';
const PASSWORD_HASH_COST = 10;

export function createAuthService(deps: {
  config: Pick<Config, 'ALLOW_REGISTRATION' | 'REFRESH_TOKEN_EXPIRY' | 'REFRESH_GRACE_MS' | 'SESSION_ABSOLUTE_EXPIRY'>;
  tokens: TokenService;
  log: FastifyBaseLogger;
  /** bcrypt by default; injectable so a test can check that every registration pays for one hash. */
  hashPassword?: (password: string) => Promise<string>;
}) {
  const { config, tokens, log } = deps;
  const hashPassword = deps.hashPassword ?? ((password: string) => bcrypt.hash(password, PASSWORD_HASH_COST));

  function accessTokenFor(user: AuthenticatedUser) {
    return tokens.signAccessToken({ id: user.id, username: user.username ?? '', provider: String(user.provider ?? 'local'), email: user.email ?? '' });
  }

  /** The token a rotation hands out, signed again from the rotation record: the same bytes every time. */
  function successorToken(claims: RefreshTokenClaims, rotation: Pick<RotationRecord, '_id' | 'rotatedAt' | 'expiration'>) {
    return tokens.signRefreshToken(claims, { tokenId: rotation._id, issuedAt: rotation.rotatedAt, expiresAt: rotation.expiration });
  }

  /** Sessions from before absolute expiry was stored count from their id's creation time. */
  function absoluteDeadline(session: SessionRecord): number {
    return session.absoluteExpiration?.getTime() ?? session._id.getTimestamp().getTime() + config.SESSION_ABSOLUTE_EXPIRY;
  }

  async function deleteSession(filter: { _id: string; user?: string }) {
    const rotations = filter.user ? { session: filter._id, user: filter.user } : { session: filter._id };
    await Promise.all([Session.deleteOne(filter), RefreshRotation.deleteMany(rotations)]);
  }

  return {
    /**
     * The first account becomes ADMIN. An email that is already registered gets the same answer as a new
     * one, so registration cannot be used to find out who has an account.
     */
    async register(input: RegistrationInput): Promise<{ message: string }> {
      if (!config.ALLOW_REGISTRATION) throw new ForbiddenError('Registration is not allowed.');
      const email = input.email.trim().toLowerCase();
      // Hashed first, for a new and an existing email alike: skipping bcrypt's ~100 ms for an existing
      // one would tell by the answer's timing which addresses have an account.
      const password = await hashPassword(input.password);
      if (await User.exists({ email })) {
        log.info({ email }, 'registration for an existing email ignored');
        return { message: GENERIC_REGISTRATION_MESSAGE };
      }
      const isFirstUser = !(await User.exists({})) && (await insertIfAbsent(FirstAdminClaim, { _id: FIRST_ADMIN_CLAIM_ID }));
      const role = isFirstUser ? SystemRoles.ADMIN : SystemRoles.USER;
      try {
        await User.create({ name: input.name, username: input.username ?? '', email, password, emailVerified: true, provider: 'local', role });
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
        // Two registrations of one email at once: the unique index keeps one, the other gets the same
        // answer. If this one had claimed ADMIN, the account that was kept is the first one.
        if (isFirstUser) await User.updateOne({ email }, { $set: { role: SystemRoles.ADMIN } });
        return { message: GENERIC_REGISTRATION_MESSAGE };
      }
      log.info({ email, role }, 'user registered');
      return { message: GENERIC_REGISTRATION_MESSAGE };
    },

    /** Starts a session: the refresh token's hash is stored, the token itself only goes to the cookie. */
    async startSession(user: AuthenticatedUser): Promise<IssuedTokens> {
      const now = Date.now();
      await Promise.all([
        Session.deleteMany({ user: user.id, expiration: { $lt: new Date(now) } }),
        RefreshRotation.deleteMany({ user: user.id, rotatedAt: { $lt: new Date(now - config.REFRESH_GRACE_MS) } }),
      ]);
      const sessionId = new mongoose.Types.ObjectId();
      const absoluteExpiration = new Date(now + config.SESSION_ABSOLUTE_EXPIRY);
      const refreshExpires = new Date(Math.min(now + config.REFRESH_TOKEN_EXPIRY, absoluteExpiration.getTime()));
      const refreshToken = tokens.signRefreshToken(
        { id: user.id, sessionId: String(sessionId) },
        { tokenId: randomUUID(), issuedAt: new Date(now), expiresAt: refreshExpires },
      );
      await Session.create({ _id: sessionId, user: user.id, refreshTokenHash: hashToken(refreshToken), expiration: refreshExpires, absoluteExpiration });
      return { token: accessTokenFor(user), refreshToken, refreshExpires, user };
    },

    /**
     * Rotation: the presented token must be the session's current one, and the refresh that inserts its
     * RefreshRotation record is the one that rotates it. Another refresh with the same token within
     * REFRESH_GRACE_MS (two tabs waking up at once) gets the same new token; later, or with a token older
     * than the last rotation, it means the token leaked or was replayed and the whole session ends.
     * Rotation never moves the expiry past the session's absolute lifetime.
     */
    async refresh(presentedToken: string): Promise<IssuedTokens> {
      const claims = tokens.verifyRefreshToken(presentedToken);
      if (!claims || !mongoose.isValidObjectId(claims.sessionId)) throw new UnauthorizedError('Invalid refresh token');
      const session = await Session.findById(claims.sessionId).lean<SessionRecord>();
      if (!session || String(session.user) !== claims.id) throw new UnauthorizedError('Session not found');
      const now = Date.now();
      const deadline = absoluteDeadline(session);
      if (Math.min(session.expiration.getTime(), deadline) <= now) {
        await deleteSession({ _id: claims.sessionId });
        throw new UnauthorizedError('Session expired');
      }
      const userDocument = await User.findById(claims.id).lean<Record<string, unknown> & { _id: unknown }>();
      if (!userDocument) throw new UnauthorizedError('User not found');
      const user = toPublicUser(userDocument) as AuthenticatedUser;
      const presentedHash = hashToken(presentedToken);

      if (session.refreshTokenHash === presentedHash) {
        const rotation = { _id: presentedHash, session: session._id, user: session.user, rotatedAt: new Date(now), expiration: new Date(Math.min(now + config.REFRESH_TOKEN_EXPIRY, deadline)) };
        if (await insertIfAbsent(RefreshRotation, rotation)) {
          const refreshToken = successorToken(claims, rotation);
          // Only the claim's winner gets here, so this update has no competitor. A crash before it leaves
          // the successor unsaved: the user logs in again at the next refresh.
          const saved = await Session.updateOne(
            { _id: session._id, refreshTokenHash: presentedHash },
            { $set: { refreshTokenHash: hashToken(refreshToken), expiration: rotation.expiration } },
          );
          if (saved.matchedCount !== 1) throw new UnauthorizedError('Session not found');
          await RefreshRotation.deleteMany({ session: session._id, rotatedAt: { $lt: new Date(now - config.REFRESH_GRACE_MS) } });
          return { token: accessTokenFor(user), refreshToken, refreshExpires: rotation.expiration, user };
        }
        // Another request rotated this very token a moment ago: answer as it did, below.
      }

      const rotation = await RefreshRotation.findById(presentedHash).lean<RotationRecord>();
      if (rotation && String(rotation.session) === claims.sessionId && now - rotation.rotatedAt.getTime() < config.REFRESH_GRACE_MS) {
        const refreshToken = successorToken(claims, rotation);
        // The successor must still be the session's token (or about to be saved by the request that won);
        // if the session has rotated again since, this is a replay like any other.
        if (session.refreshTokenHash === hashToken(refreshToken) || session.refreshTokenHash === presentedHash) {
          return { token: accessTokenFor(user), refreshToken, refreshExpires: rotation.expiration, user };
        }
      }

      await deleteSession({ _id: claims.sessionId });
      log.warn({ userId: claims.id, sessionId: claims.sessionId }, 'reused refresh token: session ended');
      throw new UnauthorizedError('Refresh token was already used; the session has been ended');
    },

    async endSession(presentedToken: string | undefined): Promise<void> {
      const claims = presentedToken ? tokens.verifyRefreshToken(presentedToken) : undefined;
      if (claims && mongoose.isValidObjectId(claims.sessionId)) await deleteSession({ _id: claims.sessionId, user: claims.id });
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;
