import Papa from 'papaparse';
import type { ExtractedDocument } from './extracted-document.ts';
import { rowLine } from './extract-spreadsheet-cell.ts';
import type { TextBudget } from './text-budget.ts';

/** One line per row (cells joined by ` | `); the first row is the header the chunker repeats. */
export function extractCsv(text: string, budget: TextBudget): ExtractedDocument {
  const lines: string[] = [];
  let header: string | undefined;
  Papa.parse<string[]>(text, {
    skipEmptyLines: 'greedy',
    step(result, parser) {
      const line = rowLine(result.data);
      if (!line.trim()) return;
      header ??= line;
      const taken = budget.take(line + '\n');
      if (taken) lines.push(taken.replace(/\n$/, ''));
      if (budget.exhausted) parser.abort();
    },
  });
  return { format: 'csv', pages: [{ text: lines.join('\n'), ...(header && lines.length > 1 ? { header } : {}) }] };
}
