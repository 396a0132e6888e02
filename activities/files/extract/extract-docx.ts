import mammoth from 'mammoth';
import { BrokenFileError } from './extraction-errors.ts';
import type { ExtractedDocument } from './extracted-document.ts';
import type { TextBudget } from './text-budget.ts';

/**
 * Word documents have no fixed pages (they are laid out when displayed), so the text is one page with
 * no number; mammoth separates paragraphs with blank lines, which the chunker splits on.
 */
export async function extractDocx(bytes: Uint8Array, budget: TextBudget): Promise<ExtractedDocument> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result = await mammoth.extractRawText({ buffer }).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    throw new BrokenFileError(`The Word document is damaged and cannot be read (${message.slice(0, 120)}).`);
  });
  const text = result.value.replace(/\r\n?/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  return { format: 'docx', pages: [{ text: budget.take(text) }] };
}
