export { detectFileType, detectFileTypeOfPath, type DetectedFileType } from './detect-file-type.ts';
export type { DocumentFormat, ExtractedDocument, ExtractedPage } from './extracted-document.ts';
export { BrokenFileError, UnsupportedFileError, isNonRetryableExtractionError } from './extraction-errors.ts';
export { createExtractionPool, type ExtractionPool, type ExtractFileInput, type ExtractFileOptions, type ExtractFileResult } from './extraction-pool.ts';
export { defaultMaxChars, extractText, type ExtractionInput, type ExtractionOptions } from './extract-text.ts';
