import { ApplicationFailure } from '@temporalio/activity';
import { BedrockRuntimeServiceException } from '@aws-sdk/client-bedrock-runtime';
import { ProviderTransientError, connectionFailure, isRetryableStatus, providerRejected } from './provider-errors.ts';

/**
 * Bedrock's exceptions worth a retry, whether they come as an HTTP status or as an exception frame in the
 * middle of the event stream (where the SDK raises them with no status at all, so the name decides).
 */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'ServiceUnavailableException',
  'InternalServerException',
  'ModelStreamErrorException',
  'ModelNotReadyException',
  'ModelTimeoutException',
]);

/**
 * Bedrock's failures: throttling, service unavailable, internal errors, model stream errors, 408/409/429/5xx
 * and lost connections are retried by Temporal; ValidationException (including a context too long),
 * AccessDeniedException, ResourceNotFoundException and other 4xx are final, in Bedrock's own words.
 */
export function classifyBedrockError(error: unknown): Error {
  if (error instanceof ApplicationFailure || error instanceof ProviderTransientError) return error;
  if (error instanceof BedrockRuntimeServiceException) {
    const status = error.$metadata?.httpStatusCode;
    const detail = error.message || error.name;
    const transient = TRANSIENT_NAMES.has(error.name) || (status !== undefined && isRetryableStatus(status));
    if (transient) return new ProviderTransientError(`Provider answered ${status ?? error.name}: ${error.name}: ${detail}`);
    return providerRejected(status ?? error.name, detail, { status, name: error.name });
  }
  // Unmodelled service errors still carry the SDK's metadata (a proxy's 502 with an HTML body, say).
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (error instanceof Error && status !== undefined && status >= 400 && !isRetryableStatus(status)) return providerRejected(status, error.message, { status });
  return connectionFailure(error, (known) => `${known.name}: ${known.message}`);
}
