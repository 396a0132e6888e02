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
