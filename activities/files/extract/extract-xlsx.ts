import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { BrokenFileError } from './extraction-errors.ts';
import type { ExtractedDocument, ExtractedPage } from './extracted-document.ts';
import { cellText, rowLine } from './extract-spreadsheet-cell.ts';
import type { TextBudget } from './text-budget.ts';

/**
 * One page per sheet (numbered by position, labelled with the sheet's name), one line per row, the first
 * row kept as the header the chunker repeats. exceljs's streaming reader is used so a large workbook is
 * read row by row instead of being built in memory, and reading stops at the character cap.
 */
export async function extractXlsx(source: Uint8Array | string, budget: TextBudget, signal?: AbortSignal): Promise<ExtractedDocument> {
  const input = typeof source === 'string' ? source : Readable.from([Buffer.from(source.buffer, source.byteOffset, source.byteLength)]);
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    // Styles are needed to tell a date from a number (a date is a number with a date format).
    styles: 'cache',
    worksheets: 'emit',
    entries: 'ignore',
  });
  const pages: ExtractedPage[] = [];
  try {
    for await (const worksheet of reader) {
      signal?.throwIfAborted();
      const sheet = worksheet as unknown as AsyncIterable<{ values: unknown }> & { name?: string; id?: number };
      const lines: string[] = [];
      let header: string | undefined;
      for await (const row of sheet) {
        if (budget.exhausted) break;
        const values = Array.isArray(row.values) ? row.values.slice(1) : [];
        const line = rowLine(Array.from(values, cellText));
        if (!line.trim()) continue;
        header ??= line;
        const taken = budget.take(line + '\n');
        if (taken) lines.push(taken.replace(/\n$/, ''));
      }
      pages.push({
        number: pages.length + 1,
        label: sheet.name ?? `Sheet${pages.length + 1}`,
        text: lines.join('\n'),
        ...(header && lines.length > 1 ? { header } : {}),
      });
      if (budget.exhausted) break;
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BrokenFileError(`The Excel workbook is damaged and cannot be read (${message.slice(0, 120)}).`);
  }
  if (pages.length === 0) throw new BrokenFileError('The Excel workbook is damaged: it has no worksheets.');
  return { format: 'xlsx', pages, metadata: { pageCount: pages.length } };
}
