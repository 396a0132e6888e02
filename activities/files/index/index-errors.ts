import { ApplicationFailure } from '@temporalio/activity';
import { isRetryableStatus } from '../../providers/provider-errors.ts';

/** Error type the ingestion workflow's retry policy lists as non-retryable. */
export const VECTOR_INDEX_REJECTED = 'VectorIndexRejected';

/** The index (or the RAG API) may well answer later: a plain error, so Temporal retries it. */
export class VectorIndexTransientError extends Error {
  override name = 'VectorIndexTransientError';
}

/** The same call will fail the same way again (bad request, wrong secret, unreadable file, wrong dimensions). */
export function vectorIndexRejected(message: string, details: Record<string, unknown> = {}): ApplicationFailure {
  return ApplicationFailure.create({ message, type: VECTOR_INDEX_REJECTED, nonRetryable: true, details: [details] });
}

/** An HTTP answer's status decides, as for the model providers: 408/409/429/5xx retry, other 4xx are final. */
export function classifyIndexStatus(status: number, detail: string, action: string): Error {
  if (isRetryableStatus(status)) return new VectorIndexTransientError(`RAG API ${action} answered ${status}: ${detail}`);
  return vectorIndexRejected(`RAG API ${action} refused the request (${status}): ${detail}`, { status });
}
