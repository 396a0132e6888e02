/**
 * What a user reads when a file's ingestion fails: the messages durachat writes for final failures, never the
 * raw text of an infrastructure error that outlasted the retries (addresses, driver messages, stack hints).
 */
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { test } from 'vitest';
import { ingestionFailureReason } from './ingest-file.ts';

const failedActivity = (cause: Error) => new ActivityFailure('Activity task failed', 'ingestFile', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);

test('a final failure written for users keeps its message; an exhausted transient one reads as a generic message', () => {
  const broken = ApplicationFailure.nonRetryable('The PDF is damaged and cannot be read.', 'BrokenFile');
  assert.equal(ingestionFailureReason(failedActivity(broken)), 'The PDF is damaged and cannot be read.');
  const internal = ApplicationFailure.retryable('connect ECONNREFUSED 10.0.4.17:9000 (s3.internal)', 'Error');
  const message = ingestionFailureReason(failedActivity(internal));
  assert.doesNotMatch(message, /ECONNREFUSED|10\.0\.4\.17|s3\.internal/);
  assert.match(message, /could not be processed/);
  assert.equal(ingestionFailureReason(new Error('Workflow task timed out')), message);
});
