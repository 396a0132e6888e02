import { open, readFile } from 'node:fs/promises';
import { detectFileType, detectFileTypeOfPath, type DetectedFileType } from './detect-file-type.ts';
import { decodeText } from './decode-text.ts';
import { extractCsv } from './extract-csv.ts';
import { extractDocx } from './extract-docx.ts';
import { htmlToText } from './extract-html.ts';
import { extractPdf } from './extract-pdf.ts';
import { extractXlsx } from './extract-xlsx.ts';
import type { ExtractedDocument } from './extracted-document.ts';
import { BrokenFileError, UnsupportedFileError } from './extraction-errors.ts';
import { assertReasonableArchive } from './office-archive-limits.ts';
import { TextBudget } from './text-budget.ts';

export type ExtractionInput = { mimeType: string; filename: string } & ({ bytes: Uint8Array } | { path: string });

export interface ExtractionOptions {
  signal?: AbortSignal;
  /** Stop after this many characters (metadata.truncated says so). Default 10 million (~2.5M tokens). */
  maxChars?: number;
}

export const defaultMaxChars = 10_000_000;

/** Text formats are read no further than the cap needs (a UTF-8 character is at most 4 bytes). */
async function readTextSource(input: ExtractionInput, maxChars: number): Promise<string> {
  const limit = maxChars * 4 + 4;
  if ('bytes' in input) return decodeText(input.bytes.subarray(0, limit), input.bytes.byteLength > limit);
  const handle = await open(input.path, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = new Uint8Array(Math.min(size, limit));
    await handle.read(bytes, 0, bytes.byteLength, 0);
    return decodeText(bytes, size > limit);
  } finally {
    await handle.close();
  }
}

async function readBinarySource(input: ExtractionInput): Promise<Uint8Array> {
  return 'bytes' in input ? input.bytes : new Uint8Array(await readFile(input.path));
}

function plainDocument(format: ExtractedDocument['format'], text: string, budget: TextBudget): ExtractedDocument {
  return { format, pages: [{ text: budget.take(text) }] };
}

async function extractDetected(detected: DetectedFileType, input: ExtractionInput, budget: TextBudget, signal?: AbortSignal): Promise<ExtractedDocument> {
  switch (detected.format) {
    case 'pdf':
      return extractPdf(await readBinarySource(input), budget, signal);
    case 'docx':
      assertReasonableArchive(detected.zipEntries, 'Word document');
      return extractDocx(await readBinarySource(input), budget);
    case 'xlsx':
      assertReasonableArchive(detected.zipEntries, 'Excel workbook');
      return extractXlsx('bytes' in input ? input.bytes : input.path, budget, signal, detected.zipEntries);
    case 'csv':
      return extractCsv(await readTextSource(input, budget.maxChars), budget);
    case 'html': {
      const { text, title } = htmlToText(await readTextSource(input, budget.maxChars));
      return { ...plainDocument('html', text, budget), ...(title ? { metadata: { title } } : {}) };
    }
    case 'json': {
      const raw = await readTextSource(input, budget.maxChars);
      try {
        return plainDocument('json', JSON.stringify(JSON.parse(raw), null, 2), budget);
      } catch {
        // JSON Lines, a truncated export or a broken file: its text is still worth searching.
        const document = plainDocument('json', raw.trim(), budget);
        return { ...document, metadata: { warnings: ['The file is not valid JSON; its text was indexed as it is.'] } };
      }
    }
    case 'markdown':
    case 'text':
    case 'code':
      return plainDocument(detected.format, (await readTextSource(input, budget.maxChars)).trim(), budget);
    default:
      throw new UnsupportedFileError(`This file is ${detected.description}, which durachat cannot read as text.`);
  }
}

/**
 * Text of an uploaded file, by its real type (magic bytes), not its name. Throws `UnsupportedFileError`
 * for types that hold no readable text and `BrokenFileError` for damaged or encrypted files; both are
 * final (the ingestion workflow does not retry them). CPU-heavy: call it through the extraction pool.
 */
export async function extractText(input: ExtractionInput, options: ExtractionOptions = {}): Promise<ExtractedDocument> {
  const { signal } = options;
  signal?.throwIfAborted();
  const detected = 'bytes' in input
    ? detectFileType(input.bytes, input.filename, input.mimeType)
    : await detectFileTypeOfPath(input.path, input.filename, input.mimeType);
  if (detected.encrypted) {
    throw new BrokenFileError(`The file is ${detected.description}. Remove the password and upload it again.`);
  }
  if (!detected.format) {
    throw new UnsupportedFileError(`This file is ${detected.description}, which durachat cannot read as text.`);
  }
  const budget = new TextBudget(options.maxChars ?? defaultMaxChars);
  const document = await extractDetected(detected, input, budget, signal);
  signal?.throwIfAborted();
  return {
    ...document,
    metadata: {
      ...document.metadata,
      characters: budget.characters,
      ...(budget.truncated ? { truncated: true } : {}),
    },
  };
}
