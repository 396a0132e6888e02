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
  holdSheetsUntilWorkbookIsKnown(reader);
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

/**
 * exceljs 4.4.0's streaming reader parses a sheet on arrival once it has the shared strings and the
 * workbook's relationships, but names it from `xl/workbook.xml`'s sheet list, which a ZIP may hold later
 * (entry order is free: exceljs's own writer sometimes puts it after the sheets), and then fails with
 * "reading 'sheets'". Until the workbook part is parsed, the relationships read as absent, so the reader
 * takes its own path for early sheets: it spools them to temporary files and parses them after the
 * archive's last entry, when the workbook is known (one with no `xl/workbook.xml` at all is read with
 * its sheets named by position). Pinned exceljs: the fields are the reader's own (`workbookRels`, `model`).
 */
function holdSheetsUntilWorkbookIsKnown(reader: object): void {
  let relationships: unknown;
  Object.defineProperty(reader, 'workbookRels', {
    configurable: true,
    get(this: { model?: unknown }) {
      return this.model ? relationships : undefined;
    },
    set(value: unknown) {
      relationships = value;
    },
  });
}
