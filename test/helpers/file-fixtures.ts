/**
 * Real files of every format ingestion reads, generated at test time (no binaries in the repository):
 * PDFs are written object by object with a correct xref table, DOCX through a small ZIP writer, XLSX by
 * exceljs, so every test runs the real parsers on well-formed (or deliberately broken) input.
 */
import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';

const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const escapePdfString = (text: string) => text.replace(/[\\()]/g, (character) => `\\${character}`);

interface PdfOptions {
  /** Adds a Standard-security /Encrypt dictionary whose user password is not empty. */
  encrypted?: boolean;
  title?: string;
}

/** A PDF with one page per entry, each page's lines drawn as text with Helvetica. */
export function makePdf(pages: string[][], options: PdfOptions = {}): Uint8Array {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body);
  add(''); // 1: catalog, filled below
  add(''); // 2: page tree, filled below
  add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'); // 3
  const kids: number[] = [];
  for (const lines of pages) {
    const operators = ['BT', '/F1 12 Tf', '14 TL', '72 720 Td', ...lines.map((line) => `(${escapePdfString(line)}) Tj T*`), 'ET'].join('\n');
    const content = add(`<< /Length ${Buffer.byteLength(operators, 'latin1')} >>\nstream\n${operators}\nendstream`);
    kids.push(add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${content} 0 R >>`));
  }
  objects[0] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[1] = `<< /Type /Pages /Kids [${kids.map((kid) => `${kid} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  const info = options.title ? add(`<< /Title (${escapePdfString(options.title)}) >>`) : undefined;
  const encrypt = options.encrypted
    ? add(`<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <${'a1'.repeat(32)}> /U <${'5c'.repeat(32)}> >>`)
    : undefined;
  let output = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(Buffer.byteLength(output, 'latin1'));
    output += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefOffset = Buffer.byteLength(output, 'latin1');
  output += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  output += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  const trailerEntries = [`/Size ${objects.length + 1}`, '/Root 1 0 R'];
  if (info) trailerEntries.push(`/Info ${info} 0 R`);
  if (encrypt) trailerEntries.push(`/Encrypt ${encrypt} 0 R`, `/ID [<${'0f'.repeat(16)}> <${'0f'.repeat(16)}>]`);
  output += `trailer\n<< ${trailerEntries.join(' ')} >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
  return latin1(output);
}

/** A PDF header followed by noise: no xref, no objects, nothing a reader can recover. */
export function makeCorruptPdf(): Uint8Array {
  const noise = Array.from({ length: 400 }, (_, index) => String.fromCharCode(33 + ((index * 7919) % 90))).join('');
  return latin1(`%PDF-1.7\n${noise}\n%%EOF\n`);
}

const crcTable = Array.from({ length: 256 }, (_, index) => {
  let value = index;
  for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
  return value >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A deflated ZIP archive of the given entries (what OOXML files are). */
export function makeZip(entries: Record<string, string>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const data = Buffer.from(content, 'utf8');
    const compressed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.byteLength, 18);
    local.writeUInt32LE(data.byteLength, 22);
    local.writeUInt16LE(nameBytes.byteLength, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.byteLength, 20);
    central.writeUInt32LE(data.byteLength, 24);
    central.writeUInt16LE(nameBytes.byteLength, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, compressed);
    centrals.push(central, nameBytes);
    offset += local.byteLength + nameBytes.byteLength + compressed.byteLength;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.byteLength, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Word document with one paragraph per entry (a `# ` prefix makes a Heading 1). */
export function makeDocx(paragraphs: string[]): Uint8Array {
  const body = paragraphs
    .map((paragraph) => paragraph.startsWith('# ')
      ? `<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t xml:space="preserve">${escapeXml(paragraph.slice(2))}</w:t></w:r></w:p>`
      : `<w:p><w:r><w:t xml:space="preserve">${escapeXml(paragraph)}</w:t></w:r></w:p>`)
    .join('');
  return makeZip({
    '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    '_rels/.rels': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    'word/document.xml': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
  });
}

/** An Excel workbook with one sheet per entry; each sheet's first row is its header. */
export async function makeXlsx(sheets: Record<string, unknown[][]>): Promise<Uint8Array> {
  const workbook = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) workbook.addWorksheet(name).addRows(rows);
  return new Uint8Array(await workbook.xlsx.writeBuffer());
}

/**
 * A hand-written workbook whose parts are zipped in the order `order` gives (a ZIP's entry order is free, and
 * writers differ: some put `xl/workbook.xml` after the sheets and shared strings). Cells are shared strings.
 */
export function makeXlsxInOrder(sheets: Record<string, string[][]>, order: (name: string) => number): Uint8Array {
  const names = Object.keys(sheets);
  const strings: string[] = [];
  const stringIndex = (value: string) => {
    const found = strings.indexOf(value);
    return found >= 0 ? found : strings.push(value) - 1;
  };
  const column = (index: number) => String.fromCharCode(65 + index);
  const parts: Record<string, string> = {};
  const xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
  const main = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  names.forEach((name, sheetIndex) => {
    const rows = sheets[name]!.map((cells, rowIndex) => `<row r="${rowIndex + 1}">${cells
      .map((cell, cellIndex) => `<c r="${column(cellIndex)}${rowIndex + 1}" t="s"><v>${stringIndex(cell)}</v></c>`).join('')}</row>`).join('');
    parts[`xl/worksheets/sheet${sheetIndex + 1}.xml`] = `${xml}<worksheet xmlns="${main}"><sheetData>${rows}</sheetData></worksheet>`;
  });
  parts['xl/sharedStrings.xml'] = `${xml}<sst xmlns="${main}" count="${strings.length}" uniqueCount="${strings.length}">${strings
    .map((value) => `<si><t xml:space="preserve">${escapeXml(value)}</t></si>`).join('')}</sst>`;
  parts['xl/workbook.xml'] = `${xml}<workbook xmlns="${main}" xmlns:r="${rel}"><sheets>${names
    .map((name, index) => `<sheet name="${escapeXml(name)}" sheetId="${index + 1}" r:id="rId${index + 1}"/>`).join('')}</sheets></workbook>`;
  parts['xl/_rels/workbook.xml.rels'] = `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${names
    .map((_, index) => `<Relationship Id="rId${index + 1}" Type="${rel}/worksheet" Target="worksheets/sheet${index + 1}.xml"/>`).join('')}<Relationship Id="rId${names.length + 1}" Type="${rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`;
  parts['_rels/.rels'] = `${xml}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>`;
  parts['[Content_Types].xml'] = `${xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>${names
    .map((_, index) => `<Override PartName="/xl/worksheets/sheet${index + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join('')}<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`;
  const ordered = Object.keys(parts).sort((a, b) => order(a) - order(b));
  return makeZip(Object.fromEntries(ordered.map((name) => [name, parts[name]!])));
}

export function makeCsv(rows: string[][]): Uint8Array {
  const quote = (cell: string) => (/[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
  return new Uint8Array(Buffer.from(rows.map((row) => row.map(quote).join(',')).join('\r\n') + '\r\n'));
}

export const text = (content: string) => new Uint8Array(Buffer.from(content, 'utf8'));

export const sampleMarkdown = '# Release notes\n\nDurable ingestion survives **crashes**.\n\n- one\n- two\n';
export const sampleHtml = `<!DOCTYPE html><html><head><title>Ingestion &amp; chunks</title><style>body { color: red }</style>
<script>window.secret = "do not index";</script></head><body><h1>Durable ingestion</h1><p>Files are extracted &amp; chunked.</p>
<ul><li>PDF</li><li>DOCX</li></ul><table><tr><th>Format</th><th>Pages</th></tr><tr><td>PDF</td><td>yes</td></tr></table>
<noscript>enable scripts</noscript></body></html>`;
export const sampleJson = '{"name":"durachat","formats":["pdf","docx"],"nested":{"retries":3}}';

/** A small PNG (1x1 pixel): a real binary type that holds no text. */
export const pngBytes = new Uint8Array(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'));
