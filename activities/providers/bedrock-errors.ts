import { ApplicationFailure } from '@temporalio/activity';
import { BedrockRuntimeServiceException } from '@aws-sdk/client-bedrock-runtime';
import { PROVIDER_REJECTED, ProviderTransientError } from './provider-errors.ts';

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
    const transient = TRANSIENT_NAMES.has(error.name) || (status !== undefined && (status === 408 || status === 409 || status === 429 || status >= 500));
    if (transient) return new ProviderTransientError(`Provider answered ${status ?? error.name}: ${error.name}: ${detail}`);
    return ApplicationFailure.create({ message: `The model provider refused the request (${status ?? error.name}): ${detail}`, type: PROVIDER_REJECTED, nonRetryable: true, details: [{ status, name: error.name }] });
  }
  // Unmodelled service errors still carry the SDK's metadata (a proxy's 502 with an HTML body, say).
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (error instanceof Error && status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429) {
    return ApplicationFailure.create({ message: `The model provider refused the request (${status}): ${error.message}`, type: PROVIDER_REJECTED, nonRetryable: true, details: [{ status }] });
  }
  if (error instanceof Error) return new ProviderTransientError(`Provider connection failed: ${error.name}: ${error.message}`);
  return new ProviderTransientError(`Provider call failed: ${String(error)}`);
}
