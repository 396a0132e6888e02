import { getDocumentProxy } from 'unpdf';
import { BrokenFileError } from './extraction-errors.ts';
import type { ExtractedDocument, ExtractedPage } from './extracted-document.ts';
import type { TextBudget } from './text-budget.ts';

interface PdfTextItem {
  str?: string;
  hasEOL?: boolean;
}

function pdfError(error: unknown): Error {
  const name = (error as { name?: string })?.name;
  if (name === 'PasswordException') {
    return new BrokenFileError('The PDF is encrypted (password-protected). Remove the password and upload it again.');
  }
  if (name === 'InvalidPDFException' || name === 'FormatError' || name === 'UnknownErrorException' || name === 'MissingPDFException') {
    return new BrokenFileError('The PDF is damaged and cannot be read.');
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** One page per PDF page, numbered from 1, with the text layer's line breaks kept. */
export async function extractPdf(bytes: Uint8Array, budget: TextBudget, signal?: AbortSignal): Promise<ExtractedDocument> {
  // pdf.js may detach the buffer it is given: hand it a copy so the caller's bytes stay usable.
  const document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 }).catch((error: unknown) => {
    throw pdfError(error);
  });
  try {
    const pages: ExtractedPage[] = [];
    for (let number = 1; number <= document.numPages && !budget.exhausted; number += 1) {
      signal?.throwIfAborted();
      const page = await document.getPage(number).catch((error: unknown) => {
        throw pdfError(error);
      });
      const content = await page.getTextContent().catch((error: unknown) => {
        throw pdfError(error);
      });
      const text = (content.items as PdfTextItem[])
        .map((item) => (item.str ?? '') + (item.hasEOL ? '\n' : ''))
        .join('')
        .replace(/[ \t]+\n/g, '\n')
        .trim();
      page.cleanup();
      pages.push({ number, text: budget.take(text) });
    }
    const warnings: string[] = [];
    if (pages.length > 0 && pages.every((page) => page.text.trim() === '')) {
      warnings.push('The PDF has no text layer (a scanned document?); durachat does not read text from images.');
    }
    const info = await document.getMetadata().then((metadata) => metadata.info as { Title?: unknown }, () => undefined);
    const title = typeof info?.Title === 'string' && info.Title.trim() ? info.Title.trim() : undefined;
    return { format: 'pdf', pages, metadata: { pageCount: document.numPages, ...(title ? { title } : {}), ...(warnings.length ? { warnings } : {}) } };
  } finally {
    await document.loadingTask.destroy();
  }
}
