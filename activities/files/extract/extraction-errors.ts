import { DomainError } from '../../../shared/errors.ts';

/**
 * The file's real type is one durachat cannot read as text (an image, an archive, an old binary Office
 * format). Retrying cannot help: the ingestion workflow fails it once, with this message for the user.
 */
export class UnsupportedFileError extends DomainError {
  constructor(message: string) {
    super(message, 'UNSUPPORTED_FILE');
  }
}

/** The file claims a supported type but cannot be read (damaged, truncated, encrypted). Not retryable. */
export class BrokenFileError extends DomainError {
  constructor(message: string) {
    super(message, 'BROKEN_FILE');
  }
}

export type ExtractionErrorKind = 'unsupported' | 'broken';

/** Errors lose their class across a thread boundary; the pool sends this shape and rebuilds the class. */
export interface SerializedExtractionError {
  kind: ExtractionErrorKind;
  message: string;
}

export function serializeExtractionError(error: unknown): SerializedExtractionError | undefined {
  if (error instanceof UnsupportedFileError) return { kind: 'unsupported', message: error.message };
  if (error instanceof BrokenFileError) return { kind: 'broken', message: error.message };
  return undefined;
}

export function deserializeExtractionError(error: SerializedExtractionError): UnsupportedFileError | BrokenFileError {
  return error.kind === 'unsupported' ? new UnsupportedFileError(error.message) : new BrokenFileError(error.message);
}

/** For the ingestion workflow's activity: these become `ApplicationFailure`s with `nonRetryable: true`. */
export function isNonRetryableExtractionError(error: unknown): error is UnsupportedFileError | BrokenFileError {
  return error instanceof UnsupportedFileError || error instanceof BrokenFileError;
}
