/** The text of one file, split where the format has pages (PDF pages, spreadsheet sheets). */
export interface ExtractedPage {
  /** 1-based page number (PDF page, spreadsheet sheet position); absent where the format has no pages. */
  number?: number;
  /** A human label for the page where the format names it (a spreadsheet's sheet name). */
  label?: string;
  text: string;
  /**
   * A header line (a table's column names) the chunker repeats at the top of every chunk that starts
   * inside this page, so a chunk of rows still says what its columns are.
   */
  header?: string;
}

export type DocumentFormat = 'pdf' | 'docx' | 'xlsx' | 'csv' | 'html' | 'markdown' | 'json' | 'text' | 'code';

export interface ExtractedDocument {
  pages: ExtractedPage[];
  format: DocumentFormat;
  metadata?: {
    /** Extraction stopped at `maxChars`; the rest of the file is not in `pages`. */
    truncated?: boolean;
    /** Total characters extracted (after the cap). */
    characters?: number;
    /** PDF page count or sheet count in the file, including pages past the cap. */
    pageCount?: number;
    title?: string;
    /** Things the user may want to know (a PDF with no text layer, JSON that did not parse). */
    warnings?: string[];
  };
}
