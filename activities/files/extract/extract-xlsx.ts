import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { BrokenFileError } from './extraction-errors.ts';
import type { ExtractedDocument, ExtractedPage } from './extracted-document.ts';
import { cellText, rowLine } from './extract-spreadsheet-cell.ts';
import type { TextBudget } from './text-budget.ts';
import type { ZipEntry } from './zip-entries.ts';

/**
 * One page per sheet (numbered by position, labelled with the sheet's name), one line per row, the first
 * row kept as the header the chunker repeats. exceljs's streaming reader is used so a large workbook is
 * read row by row instead of being built in memory, and reading stops at the character cap.
 *
 * Except for an archive whose worksheets come before the parts needed to read them (the workbook, its
 * relationships, the shared strings): exceljs's streaming reader then spools the sheets to temporary files,
 * and that path lost every entry after the first sheet now and then (13 of 300 reads of such a workbook in a
 * loop; CI failed on it). exceljs's own writer sometimes orders archives so. Those are read in memory (the
 * archive's size is already bounded by assertReasonableArchive).
 */
export async function extractXlsx(source: Uint8Array | string, budget: TextBudget, signal?: AbortSignal, entries?: ZipEntry[]): Promise<ExtractedDocument> {
  const pages = entries && partsComeAfterSheets(entries) ? await readSheetsInMemory(source, budget, signal) : await readSheets(source, budget, signal);
  if (pages.length === 0) throw new BrokenFileError('The Excel workbook is damaged: it has no worksheets.');
  return { format: 'xlsx', pages, metadata: { pageCount: pages.length } };
}

const PARTS_BEFORE_SHEETS = ['xl/workbook.xml', 'xl/_rels/workbook.xml.rels', 'xl/sharedStrings.xml'];

export function partsComeAfterSheets(entries: ZipEntry[]): boolean {
  const firstSheet = Math.min(...entries.filter((entry) => /^xl\/worksheets\/sheet\d+\.xml$/.test(entry.name)).map((entry) => entry.localHeaderOffset));
  return entries.some((entry) => PARTS_BEFORE_SHEETS.includes(entry.name) && entry.localHeaderOffset > firstSheet);
}

/** One sheet's rows as lines within the budget, then its page. */
function pageBuilder(budget: TextBudget) {
  const lines: string[] = [];
  let header: string | undefined;
  return {
    add(row: { values: unknown }): void {
      const line = rowText(row);
      if (!line.trim()) return;
      header ??= line;
      const taken = budget.take(line + '\n');
      if (taken) lines.push(taken.replace(/\n$/, ''));
    },
    page(number: number, label: string): ExtractedPage {
      return { number, label, text: lines.join('\n'), ...(header && lines.length > 1 ? { header } : {}) };
    },
  };
}

function rowText(row: { values: unknown }): string {
  const values = Array.isArray(row.values) ? row.values.slice(1) : [];
  return rowLine(Array.from(values, cellText));
}

async function readSheetsInMemory(source: Uint8Array | string, budget: TextBudget, signal?: AbortSignal): Promise<ExtractedPage[]> {
  const workbook = new ExcelJS.Workbook();
  try {
    if (typeof source === 'string') await workbook.xlsx.readFile(source);
    else await workbook.xlsx.load(Buffer.from(source.buffer, source.byteOffset, source.byteLength) as unknown as ArrayBuffer);
  } catch (error) {
    if (signal?.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BrokenFileError(`The Excel workbook is damaged and cannot be read (${message.slice(0, 120)}).`);
  }
  const pages: ExtractedPage[] = [];
  for (const worksheet of workbook.worksheets) {
    signal?.throwIfAborted();
    const builder = pageBuilder(budget);
    worksheet.eachRow((row) => {
      if (!budget.exhausted) builder.add(row as unknown as { values: unknown });
    });
    pages.push(builder.page(pages.length + 1, worksheet.name));
    if (budget.exhausted) break;
  }
  return pages;
}

async function readSheets(source: Uint8Array | string, budget: TextBudget, signal?: AbortSignal): Promise<ExtractedPage[]> {
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
      const builder = pageBuilder(budget);
      for await (const row of sheet) {
        if (budget.exhausted) break;
        builder.add(row);
      }
      pages.push(builder.page(pages.length + 1, sheet.name ?? `Sheet${pages.length + 1}`));
      if (budget.exhausted) break;
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BrokenFileError(`The Excel workbook is damaged and cannot be read (${message.slice(0, 120)}).`);
  }
  return pages;
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
