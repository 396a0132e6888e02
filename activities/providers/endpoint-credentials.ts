import { ApplicationFailure } from '@temporalio/activity';
import type { CredentialCipher } from '../../shared/credential-cipher.ts';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { readUserCredentials, withUserCredentials, type BaseUrlPolicy } from '../../shared/user-key-credentials.ts';

/**
 * Puts the user's own key (and base URL) into a `user_provided` endpoint at call time, read from the
 * database and decrypted in the worker: the run's input names only the endpoint, so no key ever enters
 * Temporal's history. A key deleted or expired since the run started fails the call for good, with
 * LibreChat's JSON error text (the only thing about the key that history records).
 */
export function createEndpointCredentialResolver(cipher: CredentialCipher, policy: BaseUrlPolicy = {}) {
  return async function resolveEndpointCredentials(endpoint: ResolvedEndpoint, userId: string): Promise<ResolvedEndpoint> {
    if (!endpoint.userProvide && !endpoint.userProvideURL) return endpoint;
    const { credentials, problem } = await readUserCredentials(cipher, endpoint, userId, policy);
    if (problem) throw ApplicationFailure.nonRetryable(JSON.stringify(problem), 'UserKeyUnavailable');
    return withUserCredentials(endpoint, credentials);
  };
}
