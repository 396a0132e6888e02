import type { CredentialCipher } from '../../../shared/credential-cipher.ts';
import { mcpPluginKey, PluginAuth, pluginAuthContext } from '../../../shared/models/plugin-auth.ts';
import type { UserValuesReader } from './mcp-pool.ts';

/**
 * The pool's `userValues` in a worker: the user's customUserVars for a server, decrypted, read where the
 * connection is opened and nowhere else. A value that does not decrypt (tampered with, or CREDS_KEY changed)
 * is left out, so the user is asked to set it again.
 */
export function createUserValuesReader(cipher: CredentialCipher): UserValuesReader {
  return async (userId, serverName) => {
    const pluginKey = mcpPluginKey(serverName);
    const stored = await PluginAuth.find({ userId, pluginKey }, { authField: 1, value: 1 }).lean<Array<{ authField: string; value: string }>>();
    const values: Record<string, string> = {};
    for (const { authField, value } of stored) {
      try {
        values[authField] = cipher.decrypt(value, pluginAuthContext(userId, pluginKey, authField));
      } catch {
        // Left out: the server reports the variable as missing.
      }
    }
    return values;
  };
}
