import type { CredentialCipher } from './credential-cipher.ts';
import type { ResolvedEndpoint } from './endpoints-config.ts';
import { UserKey } from './models/index.ts';
import { userUrlProblem, type AddressLookup } from './outbound-address.ts';

/**
 * Why a user's key cannot be used, in LibreChat's words: the client parses an error text that is this JSON
 * (`ErrorTypes` in librechat-data-provider) and shows its own message, e.g. "set your key".
 */
export type UserKeyProblem =
  | { type: 'no_user_key' }
  | { type: 'expired_user_key'; expiredAt: string; endpoint: string }
  | { type: 'invalid_user_key' }
  | { type: 'no_base_url' }
  | { type: 'invalid_base_url'; message?: string };

/** How a user's base URL is checked: private and local addresses are refused unless allowed (USER_BASE_URL_ALLOW_PRIVATE). */
export interface BaseUrlPolicy {
  allowPrivateBaseURL?: boolean;
  lookup?: AddressLookup;
}

export type UserCredentials = { apiKey?: string; baseURL?: string };

/** Authenticated with each stored value: a ciphertext moved to another user or key name does not decrypt. */
export function userKeyContext(userId: string, name: string): string {
  return `${userId}\n${name}`;
}

/** LibreChat stores a plain key for some endpoints and `{"apiKey","baseURL"}` for others: both are read. */
function parseValue(value: string): UserCredentials | undefined {
  if (!value.trimStart().startsWith('{')) return { apiKey: value };
  try {
    const parsed = JSON.parse(value) as Record<string, unknown>;
    if (!parsed || typeof parsed !== 'object') return undefined;
    const field = (name: string) => (typeof parsed[name] === 'string' && parsed[name] ? (parsed[name] as string) : undefined);
    return { apiKey: field('apiKey'), baseURL: field('baseURL') };
  } catch {
    return undefined;
  }
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * The user's own credentials for a `userProvide`/`userProvideURL` endpoint, decrypted, or why they cannot be
 * used. Read where they are used (the API's pre-start check, the activity at call time), never passed on.
 */
export async function readUserCredentials(
  cipher: CredentialCipher,
  endpoint: Pick<ResolvedEndpoint, 'name' | 'userProvide' | 'userProvideURL'>,
  userId: string,
  options: BaseUrlPolicy = {},
  now = new Date(),
): Promise<{ credentials: UserCredentials; problem?: undefined } | { problem: UserKeyProblem; credentials?: undefined }> {
  const stored = await UserKey.findOne({ userId, name: endpoint.name }, { value: 1, expiresAt: 1 }).lean<{ value: string; expiresAt?: Date }>();
  if (!stored) return { problem: { type: 'no_user_key' } };
  if (stored.expiresAt && stored.expiresAt.getTime() <= now.getTime()) {
    return { problem: { type: 'expired_user_key', expiredAt: stored.expiresAt.toISOString(), endpoint: endpoint.name } };
  }
  let credentials: UserCredentials | undefined;
  try {
    credentials = parseValue(cipher.decrypt(stored.value, userKeyContext(userId, endpoint.name)));
  } catch {
    // Tampered with, or CREDS_KEY changed since it was saved: the user sets it again.
    credentials = undefined;
  }
  if (!credentials) return { problem: { type: 'invalid_user_key' } };
  if (endpoint.userProvide && !credentials.apiKey) return { problem: { type: 'no_user_key' } };
  if (endpoint.userProvideURL && !credentials.baseURL) return { problem: { type: 'no_base_url' } };
  if (endpoint.userProvideURL && !isHttpUrl(credentials.baseURL!)) return { problem: { type: 'invalid_base_url' } };
  if (endpoint.userProvideURL && !options.allowPrivateBaseURL) {
    const reason = await userUrlProblem(credentials.baseURL!, options.lookup);
    if (reason) return { problem: { type: 'invalid_base_url', message: `The base URL cannot be used: ${reason}.` } };
  }
  return { credentials };
}

/** The endpoint with the user's credentials in place of the `user_provided` placeholders. */
export function withUserCredentials(endpoint: ResolvedEndpoint, credentials: UserCredentials): ResolvedEndpoint {
  return {
    ...endpoint,
    ...(endpoint.userProvide ? { apiKey: credentials.apiKey! } : {}),
    ...(endpoint.userProvideURL ? { baseURL: credentials.baseURL! } : {}),
  };
}
