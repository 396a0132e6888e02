import { STORED_TEXT_MAX_CHARS } from '../../shared/file-config.ts';
import { File } from '../../shared/models/file.ts';
import type { ExtractedDocument } from './extract/extracted-document.ts';

/**
 * A document's text as one string for the prompt: pages in order, a labelled page (a spreadsheet's sheet)
 * under its label, so the model can tell the sheets apart.
 */
export function documentText(document: ExtractedDocument): string {
  return document.pages
    .map((page) => (page.label ? `[${page.label}]\n${page.text}` : page.text))
    .filter((text) => text.trim().length > 0)
    .join('\n\n');
}

/**
 * Keeps the extracted text on the file's record (`text`, as LibreChat's File document), capped, so a chat
 * the file is attached to can send it to the model (activities/chat/attached-files.ts) without reading the
 * file again. Written right after extraction, before embedding: a chat waiting for the file gets its text
 * as soon as it exists, and a file whose embedding fails still has it. A file with no text stores nothing.
 */
export async function storeExtractedText(fileId: string, userId: string, document: ExtractedDocument): Promise<void> {
  const text = documentText(document);
  if (!text.trim()) return;
  const truncated = text.length > STORED_TEXT_MAX_CHARS || document.metadata?.truncated === true;
  await File.updateOne({ file_id: fileId, user: userId }, { $set: { text: text.slice(0, STORED_TEXT_MAX_CHARS), textTruncated: truncated } });
}
