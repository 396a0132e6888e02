import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;

export interface CredentialCipher {
  /** `context` (e.g. the owner and key name) is authenticated, not stored: a value copied onto another owner's record will not decrypt. */
  encrypt(plaintext: string, context: string): string;
  /** Throws when the value was not made with this key and context (tampered, moved, or CREDS_KEY changed). */
  decrypt(stored: string, context: string): string;
}

/**
 * AES-256-GCM with a random 96-bit IV per value, stored as `v1:<iv>:<tag>:<ciphertext>` (base64). GCM rather
 * than LibreChat's fixed-IV CBC: a fresh IV per value, and tampering is detected instead of decrypting to junk.
 */
export function createCredentialCipher(hexKey: string): CredentialCipher {
  const key = Buffer.from(hexKey, 'hex');
  if (key.length !== 32) throw new Error('CREDS_KEY must be 32 bytes (64 hex characters)');
  return {
    encrypt(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
    },
    decrypt(stored, context) {
      const [version, iv, tag, ciphertext] = stored.split(':');
      if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new Error('not a value this cipher wrote');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
    },
  };
}
