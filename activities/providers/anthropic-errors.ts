import { ApplicationFailure } from '@temporalio/activity';
import Anthropic from '@anthropic-ai/sdk';
import { ProviderTransientError, connectionFailure, isRetryableStatus, providerRejected } from './provider-errors.ts';

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
    const transient = status === undefined ? !(error instanceof Anthropic.APIUserAbortError) : isRetryableStatus(status);
    if (transient || (error.type && TRANSIENT_TYPES.has(error.type))) return new ProviderTransientError(`Provider answered ${status ?? error.type ?? 'an error'}: ${detail}`);
    return providerRejected(status, detail, { status });
  }
  return connectionFailure(error);
}
