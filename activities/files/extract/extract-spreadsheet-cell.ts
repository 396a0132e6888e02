/** One spreadsheet cell's value as the text a reader sees (formulas by their result, dates as ISO dates). */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString().replace(/T00:00:00\.000Z$/, '');
  if (typeof value === 'object') {
    const cell = value as { richText?: Array<{ text: string }>; result?: unknown; text?: unknown; error?: string; formula?: string };
    if (cell.richText) return cell.richText.map((run) => run.text).join('');
    if ('result' in cell) return cellText(cell.result);
    if (cell.text !== undefined) return cellText(cell.text);
    if (cell.error) return cell.error;
  }
  return '';
}

/** A row as one line: cells joined by ` | `, line breaks inside a cell flattened. */
export function rowLine(cells: string[]): string {
  return cells.map((cell) => cell.replace(/\s*\n\s*/g, ' ').trim()).join(' | ').replace(/(\s\|\s*)+$/, '');
}
