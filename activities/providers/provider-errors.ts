import { ApplicationFailure } from '@temporalio/activity';

/** Error type the workflow's retry policy lists as non-retryable. */
export const PROVIDER_REJECTED = 'ProviderRequestRejected';

/** A provider failure worth retrying (Temporal retries plain errors); its name shows in the Temporal UI. */
export class ProviderTransientError extends Error {
  override name = 'ProviderTransientError';
}

/** The provider sent nothing for longer than the endpoint's idle timeout: handled as a dropped connection. */
export class ProviderStalledError extends ProviderTransientError {
  override name = 'ProviderStalledError';
}

/** 408, 409, 429 and 5xx: the same request may well succeed later (as vercel/ai decides retryability). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** A final refusal (400, 401, 403, context too long...), in the provider's own words for the user. */
export function providerRejected(label: number | string | undefined, detail: string, details: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ message: `The model provider refused the request (${label}): ${detail}`, type: PROVIDER_REJECTED, nonRetryable: true, details: [details] });
}

/** What no SDK error type describes: a lost connection or worse, worth a retry. */
export function connectionFailure(error: unknown, describe: (error: Error) => string = (known) => known.message): Error {
  if (error instanceof Error) return new ProviderTransientError(`Provider connection failed: ${describe(error)}`);
  return new ProviderTransientError(`Provider call failed: ${String(error)}`);
}
