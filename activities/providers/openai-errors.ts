import { ApplicationFailure } from '@temporalio/activity';
import OpenAI from 'openai';
import { ProviderTransientError, connectionFailure, isRetryableStatus, providerRejected } from './provider-errors.ts';

/**
 * Retryability from the status code, as vercel/ai decides it: 408, 409, 429 and 5xx (and lost
 * connections) are transient and thrown as plain errors for Temporal to retry with backoff; any other
 * 4xx (bad request, bad key, unknown model, context too long) will fail the same way again, so it is final.
 */
export function classifyOpenAIError(error: unknown): Error {
  if (error instanceof ApplicationFailure || error instanceof ProviderTransientError) return error;
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    const status = error.status;
    const detail = (error.error as { message?: string } | undefined)?.message ?? error.message;
    if (isRetryableStatus(status)) return new ProviderTransientError(`Provider answered ${status}: ${detail}`);
    return providerRejected(status, detail, { status });
  }
  return connectionFailure(error);
}
