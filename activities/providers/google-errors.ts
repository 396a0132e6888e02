import { ApplicationFailure } from '@temporalio/activity';
import { ApiError } from '@google/genai';
import { ProviderTransientError, connectionFailure, isRetryableStatus, providerRejected } from './provider-errors.ts';

/** Gemini's failures: 408/429/5xx and lost connections are retried; other 4xx are final, in Google's words. */
export function classifyGoogleError(error: unknown): Error {
  if (error instanceof ApplicationFailure || error instanceof ProviderTransientError) return error;
  if (error instanceof ApiError && typeof error.status === 'number') {
    const status = error.status;
    // The SDK's message is the whole error JSON; the user gets Google's own sentence.
    let detail = error.message;
    try {
      detail = (JSON.parse(error.message.slice(error.message.indexOf('{'))) as { error?: { message?: string } }).error?.message ?? detail;
    } catch {
      // not JSON: keep the message as it is
    }
    if (isRetryableStatus(status)) return new ProviderTransientError(`Provider answered ${status}: ${detail}`);
    return providerRejected(status, detail, { status });
  }
  return connectionFailure(error);
}
