import { createHash } from 'node:crypto';
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

/** What makes one refresh token: the same input signs the same token, byte for byte. */
export interface RefreshTokenShape {
  /** Unique per token: random at login, the predecessor's hash on rotation. */
  tokenId: string;
  issuedAt: Date;
  expiresAt: Date;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

export function createTokenService(config: Pick<Config, 'JWT_SECRET' | 'JWT_REFRESH_SECRET' | 'SESSION_EXPIRY'>) {
  return {
    signAccessToken(claims: AccessTokenClaims): string {
      return jwt.sign(claims, config.JWT_SECRET, { algorithm: 'HS256', expiresIn: Math.floor(config.SESSION_EXPIRY / 1000) });
    },
    /**
     * Deterministic (HS256 over a fixed payload), so a refresh repeated within the grace window can answer
     * with the very token the first one issued without the token being stored anywhere.
     */
    signRefreshToken(claims: RefreshTokenClaims, shape: RefreshTokenShape): string {
      const payload = { id: claims.id, sessionId: claims.sessionId, jti: shape.tokenId, iat: seconds(shape.issuedAt), exp: seconds(shape.expiresAt) };
      return jwt.sign(payload, config.JWT_REFRESH_SECRET, { algorithm: 'HS256' });
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
