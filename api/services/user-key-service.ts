import type { CredentialCipher } from '../../shared/credential-cipher.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { UserKey } from '../../shared/models/index.ts';
import { readUserCredentials, userKeyContext, type BaseUrlPolicy } from '../../shared/user-key-credentials.ts';

/**
 * LibreChat's user-provided keys: saved encrypted, answered only as an expiry. The value is never read
 * back out through this service; runs read it in the worker (activities/providers/endpoint-credentials.ts).
 */
export function createUserKeyService(deps: { cipher: CredentialCipher; baseUrlPolicy?: BaseUrlPolicy }) {
  const { cipher } = deps;
  return {
    async save(userId: string, key: { name: string; value: string; expiresAt?: Date }): Promise<void> {
      const value = cipher.encrypt(key.value, userKeyContext(userId, key.name));
      // No expiry given: the key never expires (LibreChat unsets it).
      const update = key.expiresAt ? { $set: { value, expiresAt: key.expiresAt } } : { $set: { value }, $unset: { expiresAt: 1 } };
      await UserKey.updateOne({ userId, name: key.name }, update, { upsert: true });
    },

    /** LibreChat's answer: null without a key, `'never'` without an expiry, else the date (also once past). */
    async expiry(userId: string, name: string): Promise<{ expiresAt: Date | 'never' | null }> {
      const stored = await UserKey.findOne({ userId, name }, { expiresAt: 1 }).lean<{ expiresAt?: Date }>();
      if (!stored) return { expiresAt: null };
      return { expiresAt: stored.expiresAt ?? 'never' };
    },

    async remove(userId: string, name: string): Promise<void> {
      await UserKey.deleteOne({ userId, name });
    },

    async removeAll(userId: string): Promise<void> {
      await UserKey.deleteMany({ userId });
    },

    /**
     * Why a run on this endpoint cannot start for this user, as the JSON text LibreChat's client renders
     * (`{"type":"no_user_key"}`, ...), or undefined when it can (or the endpoint needs no user key).
     */
    async problemFor(userId: string, endpoint: ResolvedEndpoint): Promise<string | undefined> {
      if (!endpoint.userProvide && !endpoint.userProvideURL) return undefined;
      const { problem } = await readUserCredentials(cipher, endpoint, userId, deps.baseUrlPolicy);
      return problem ? JSON.stringify(problem) : undefined;
    },
  };
}
export type UserKeyService = ReturnType<typeof createUserKeyService>;
