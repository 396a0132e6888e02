import { ApplicationFailure } from '@temporalio/activity';
import Anthropic from '@anthropic-ai/sdk';
import { PROVIDER_REJECTED, ProviderTransientError } from './provider-errors.ts';

const TRANSIENT_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error']);

/**
 * Anthropic's failures: 408/409/429/5xx, 529 "overloaded", an `error` event mid-stream of a transient type,
 * and lost connections are retried by Temporal; 400 (including a context too long), 401/403/404/413 are
 * final, with Anthropic's own message passed to the user.
 */
export function classifyAnthropicError(error: unknown): Error {
  if (error instanceof ApplicationFailure || error instanceof ProviderTransientError) return error;
  if (error instanceof Anthropic.APIError) {
    const status = error.status;
    const detail = error.apiMessage ?? error.message;
    const transient = status === undefined ? !(error instanceof Anthropic.APIUserAbortError) : status === 408 || status === 409 || status === 429 || status >= 500;
    if (transient || (error.type && TRANSIENT_TYPES.has(error.type))) return new ProviderTransientError(`Provider answered ${status ?? error.type ?? 'an error'}: ${detail}`);
    return ApplicationFailure.create({ message: `The model provider refused the request (${status}): ${detail}`, type: PROVIDER_REJECTED, nonRetryable: true, details: [{ status }] });
  }
  if (error instanceof Error) return new ProviderTransientError(`Provider connection failed: ${error.message}`);
  return new ProviderTransientError(`Provider call failed: ${String(error)}`);
}
