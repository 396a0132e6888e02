import { ApplicationFailure } from '@temporalio/activity';
import { findEndpoint, type ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import type { ModelDependencies } from '../dependencies.ts';
import type { ModelProvider } from './provider.ts';

/**
 * The run's endpoint as a model call needs it, and the provider that speaks to it: configured on this worker
 * (else a final failure), with a user's own key (and base URL) read and decrypted now, at call time, never
 * carried in the run's input (Temporal history).
 */
export async function runEndpoint(deps: Pick<ModelDependencies, 'endpoints' | 'resolveEndpointCredentials' | 'providers'>, input: { endpoint: string; userId: string }): Promise<{ endpoint: ResolvedEndpoint; provider: ModelProvider }> {
  const configured = findEndpoint(deps.endpoints, input.endpoint);
  if (!configured) throw ApplicationFailure.nonRetryable(`Endpoint ${input.endpoint} is not configured on this worker`, 'EndpointUnavailable');
  const endpoint = await deps.resolveEndpointCredentials(configured, input.userId);
  return { endpoint, provider: await deps.providers.providerFor(endpoint) };
}
