import { createHash, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../../shared/config.ts';

export interface AccessTokenClaims {
  id: string;
  username: string;
  provider: string;
  email: string;
}

export interface RefreshTokenClaims {
  id: string;
  sessionId: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function createTokenService(config: Pick<Config, 'JWT_SECRET' | 'JWT_REFRESH_SECRET' | 'SESSION_EXPIRY' | 'REFRESH_TOKEN_EXPIRY'>) {
  return {
    signAccessToken(claims: AccessTokenClaims): string {
      return jwt.sign(claims, config.JWT_SECRET, { algorithm: 'HS256', expiresIn: Math.floor(config.SESSION_EXPIRY / 1000) });
    },
    /** A fresh `jti` makes every rotation produce a different token, even within the same second. */
    signRefreshToken(claims: RefreshTokenClaims): string {
      return jwt.sign({ ...claims, jti: randomUUID() }, config.JWT_REFRESH_SECRET, {
        algorithm: 'HS256',
        expiresIn: Math.floor(config.REFRESH_TOKEN_EXPIRY / 1000),
      });
    },
    verifyRefreshToken(token: string): RefreshTokenClaims | undefined {
      try {
        const payload = jwt.verify(token, config.JWT_REFRESH_SECRET, { algorithms: ['HS256'] }) as Partial<RefreshTokenClaims>;
        if (typeof payload.id !== 'string' || typeof payload.sessionId !== 'string') return undefined;
        return { id: payload.id, sessionId: payload.sessionId };
      } catch {
        return undefined;
      }
    },
  };
}
export type TokenService = ReturnType<typeof createTokenService>;
