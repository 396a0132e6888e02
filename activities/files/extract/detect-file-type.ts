import { open } from 'node:fs/promises';
import type { DocumentFormat } from './extracted-document.ts';
import { readZipCentralDirectory, scanZipLocalHeaders, type ZipEntry } from './zip-entries.ts';

/** What a file really is, judged from its bytes; the name and declared type only pick among text kinds. */
export interface DetectedFileType {
  /** The extractor to use, or undefined when the type holds no text durachat can read. */
  format?: DocumentFormat;
  /** The MIME type of the content (not the declared one). */
  mimeType: string;
  /** Words for a user ("a PNG image", "a PDF document"). */
  description: string;
  /** A ZIP-based Office file's entries, when read (lets the extractor refuse a zip bomb). */
  zipEntries?: ZipEntry[];
  /** A password-protected Office file (stored as an encrypted OLE container). */
  encrypted?: boolean;
}

interface BinarySignature {
  bytes: number[];
  offset?: number;
  mimeType: string;
  description: string;
}

const binarySignatures: BinarySignature[] = [
  { bytes: [0x89, 0x50, 0x4e, 0x47], mimeType: 'image/png', description: 'a PNG image' },
  { bytes: [0xff, 0xd8, 0xff], mimeType: 'image/jpeg', description: 'a JPEG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], mimeType: 'image/gif', description: 'a GIF image' },
  { bytes: [0x52, 0x49, 0x46, 0x46], mimeType: 'application/octet-stream', description: 'a RIFF media file (WebP, WAV or AVI)' },
  { bytes: [0x66, 0x74, 0x79, 0x70], offset: 4, mimeType: 'video/mp4', description: 'an MP4/MOV media file' },
  { bytes: [0x49, 0x44, 0x33], mimeType: 'audio/mpeg', description: 'an MP3 audio file' },
  { bytes: [0x1f, 0x8b], mimeType: 'application/gzip', description: 'a gzip archive' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf], mimeType: 'application/x-7z-compressed', description: 'a 7-Zip archive' },
  { bytes: [0x52, 0x61, 0x72, 0x21], mimeType: 'application/vnd.rar', description: 'a RAR archive' },
  { bytes: [0x7f, 0x45, 0x4c, 0x46], mimeType: 'application/x-executable', description: 'a program (ELF executable)' },
  { bytes: [0x4d, 0x5a], mimeType: 'application/x-msdownload', description: 'a program (Windows executable)' },
  { bytes: [0x25, 0x21, 0x50, 0x53], mimeType: 'application/postscript', description: 'a PostScript file' },
];

const oleSignature = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

const codeExtensions = new Set([
  'js', 'mjs', 'cjs', 'jsx', 'ts', 'tsx', 'py', 'rb', 'go', 'rs', 'java', 'kt', 'kts', 'scala', 'c', 'h', 'cc', 'cpp',
  'hpp', 'cs', 'swift', 'php', 'pl', 'lua', 'r', 'sql', 'sh', 'bash', 'zsh', 'ps1', 'css', 'scss', 'less', 'vue',
  'svelte', 'dart', 'ex', 'exs', 'erl', 'hs', 'clj', 'ml', 'yaml', 'yml', 'toml', 'ini', 'xml', 'dockerfile', 'tf',
]);

function extensionOf(filename: string): string {
  const base = filename.toLowerCase().split(/[\\/]/).pop() ?? '';
  if (base === 'dockerfile' || base === 'makefile') return base;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1) : '';
}

function startsWith(bytes: Uint8Array, signature: number[], offset = 0): boolean {
  if (bytes.byteLength < offset + signature.length) return false;
  return signature.every((value, index) => bytes[offset + index] === value);
}

/** The PDF header may follow up to 1024 bytes of junk (the spec's allowance, used by some generators). */
function findPdfHeader(head: Uint8Array): boolean {
  const window = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, 1024));
  return window.includes('%PDF-');
}

/**
 * Text or binary, from a sample: NUL bytes or many control characters mean binary; the sample must be
 * valid UTF-8 (a multi-byte character cut at the sample's end is allowed) or UTF-16 with a byte-order mark.
 */
function looksLikeText(sample: Uint8Array): boolean {
  if (startsWith(sample, [0xff, 0xfe]) || startsWith(sample, [0xfe, 0xff])) return true;
  if (sample.includes(0)) return false;
  let controls = 0;
  for (const byte of sample) if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) controls += 1;
  if (controls > sample.byteLength / 100) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    // Not UTF-8: accept Latin-1-looking text (bytes above 0x7f scattered among printable ASCII).
    let high = 0;
    for (const byte of sample) if (byte >= 0x80) high += 1;
    return high < sample.byteLength / 10;
  }
}

function detectText(head: Uint8Array, extension: string, declaredMime: string): DetectedFileType {
  const mime = declaredMime.toLowerCase().split(';')[0]!.trim();
  const opening = new TextDecoder().decode(head.subarray(0, 512)).replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (['html', 'htm', 'xhtml'].includes(extension) || mime === 'text/html' || mime === 'application/xhtml+xml'
    || opening.startsWith('<!doctype html') || opening.startsWith('<html')) {
    return { format: 'html', mimeType: 'text/html', description: 'an HTML page' };
  }
  if (['md', 'markdown', 'mdx'].includes(extension) || mime === 'text/markdown' || mime === 'text/x-markdown') {
    return { format: 'markdown', mimeType: 'text/markdown', description: 'a Markdown document' };
  }
  if (['csv', 'tsv'].includes(extension) || mime === 'text/csv' || mime === 'text/tab-separated-values') {
    return { format: 'csv', mimeType: extension === 'tsv' ? 'text/tab-separated-values' : 'text/csv', description: 'a CSV table' };
  }
  if (['json', 'jsonl', 'ndjson', 'geojson'].includes(extension) || mime === 'application/json' || mime.endsWith('+json')) {
    return { format: 'json', mimeType: 'application/json', description: 'a JSON file' };
  }
  if (codeExtensions.has(extension) || (mime.startsWith('text/x-') && mime !== 'text/x-markdown') || mime === 'application/javascript' || mime === 'application/x-sh') {
    return { format: 'code', mimeType: mime.startsWith('text/') ? mime : 'text/plain', description: 'a source code file' };
  }
  return { format: 'text', mimeType: 'text/plain', description: 'a text file' };
}

function detectZip(head: Uint8Array, tail: Uint8Array, tailOffset: number, extension: string): DetectedFileType {
  const zipEntries = readZipCentralDirectory(tail, tailOffset);
  const names = zipEntries?.map((entry) => entry.name) ?? scanZipLocalHeaders(head);
  const has = (prefix: string) => names.some((name) => name.startsWith(prefix));
  if (has('word/')) return { format: 'docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', description: 'a Word document', zipEntries };
  if (has('xl/')) return { format: 'xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', description: 'an Excel workbook', zipEntries };
  if (has('ppt/')) return { mimeType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', description: 'a PowerPoint presentation' };
  // A damaged archive whose directory is gone: trust the name among the Office types, so the extractor
  // reports the file as damaged rather than as an unknown archive.
  if (!zipEntries && extension === 'docx') return { format: 'docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', description: 'a Word document' };
  if (!zipEntries && extension === 'xlsx') return { format: 'xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', description: 'an Excel workbook' };
  return { mimeType: 'application/zip', description: 'a ZIP archive' };
}

/** Detection from the file's first bytes (`head`) and last bytes (`tail`, starting at `tailOffset`). */
export function detectFileTypeFromSample(
  sample: { head: Uint8Array; tail?: Uint8Array; tailOffset?: number },
  filename: string,
  declaredMime = '',
): DetectedFileType {
  const { head } = sample;
  const extension = extensionOf(filename);
  if (findPdfHeader(head)) return { format: 'pdf', mimeType: 'application/pdf', description: 'a PDF document' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) {
    return detectZip(head, sample.tail ?? head, sample.tail ? (sample.tailOffset ?? 0) : 0, extension);
  }
  if (startsWith(head, oleSignature)) {
    // Password-protected DOCX/XLSX files are OLE containers too; so are the old .doc/.xls formats.
    if (['docx', 'xlsx', 'pptx'].includes(extension)) {
      return { mimeType: 'application/x-ole-storage', description: 'a password-protected Office document', encrypted: true };
    }
    return { mimeType: 'application/x-ole-storage', description: 'an old-format Office document (.doc, .xls or .ppt)' };
  }
  for (const signature of binarySignatures) {
    if (startsWith(head, signature.bytes, signature.offset)) return { mimeType: signature.mimeType, description: signature.description };
  }
  if (head.byteLength === 0) return { format: 'text', mimeType: 'text/plain', description: 'an empty file' };
  if (!looksLikeText(head.subarray(0, 8192))) return { mimeType: 'application/octet-stream', description: 'a binary file' };
  return detectText(head, extension, declaredMime);
}

/** The real type of `bytes` (the whole file, or at least its first few kilobytes). */
export function detectFileType(bytes: Uint8Array, filename: string, declaredMime = ''): DetectedFileType {
  return detectFileTypeFromSample({ head: bytes, tail: bytes, tailOffset: 0 }, filename, declaredMime);
}

const headBytes = 64 * 1024;
// A ZIP's central directory sits at its end; OOXML files list a few dozen entries, well inside this.
const tailBytes = 1024 * 1024;

/** Detection reading only the head and tail of a file on disk. */
export async function detectFileTypeOfPath(path: string, filename: string, declaredMime = ''): Promise<DetectedFileType> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(Math.min(size, headBytes));
    await handle.read(head, 0, head.byteLength, 0);
    const tailOffset = Math.max(0, size - tailBytes);
    const tail = new Uint8Array(size - tailOffset);
    await handle.read(tail, 0, tail.byteLength, tailOffset);
    return detectFileTypeFromSample({ head, tail, tailOffset }, filename, declaredMime);
  } finally {
    await handle.close();
  }
}
