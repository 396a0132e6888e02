import { Transform, type TransformCallback } from 'node:stream';

/** How much of an upload's start is read to judge its type. */
export const SNIFF_BYTES = 64 * 1024;

export const OCTET_STREAM = 'application/octet-stream';

const OOXML = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
} as const;

/** Text types a client may name for a text file; the content decides only that it is text. */
const TEXT_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain', text: 'text/plain', log: 'text/plain', md: 'text/markdown', markdown: 'text/markdown', csv: 'text/csv', tsv: 'text/tab-separated-values',
  json: 'application/json', xml: 'application/xml', yaml: 'application/yaml', yml: 'application/yaml', html: 'text/html', htm: 'text/html', css: 'text/css',
  js: 'text/javascript', mjs: 'text/javascript', ts: 'application/typescript', py: 'text/x-python', rb: 'text/x-ruby', php: 'text/x-php', java: 'text/x-java',
  c: 'text/x-c', h: 'text/x-h', cpp: 'text/x-c++', cs: 'text/x-csharp', tex: 'text/x-tex', sh: 'application/x-sh', sql: 'application/sql', vtt: 'text/vtt', ics: 'text/calendar',
};
const TEXTUAL_CLAIM = /^(text\/[\w.+-]+|application\/(json|xml|x-sh|typescript|sql|yaml|x-yaml|csv|javascript|vnd\.coffeescript))$/;
const ZIP_CLAIMS = new Set<string>([...Object.values(OOXML), 'application/vnd.openxmlformats-officedocument.presentationml.template', 'application/epub+zip', 'application/zip', 'application/x-zip-compressed']);

const startsWith = (head: Buffer, bytes: number[], offset = 0) => bytes.every((byte, index) => head[offset + index] === byte);
const ascii = (head: Buffer, start: number, end: number) => head.subarray(start, end).toString('latin1');

function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot < 0 ? '' : filename.slice(dot + 1).toLowerCase();
}

/**
 * The names of a ZIP's first entries, walking the local file headers while their sizes are known (an entry
 * written with a data descriptor hides its size: the walk stops there).
 */
function zipEntryNames(head: Buffer): string[] {
  const names: string[] = [];
  let offset = 0;
  while (offset + 30 <= head.length && head.readUInt32LE(offset) === 0x04034b50 && names.length < 50) {
    const flags = head.readUInt16LE(offset + 6);
    const compressedSize = head.readUInt32LE(offset + 18);
    const nameLength = head.readUInt16LE(offset + 26);
    const extraLength = head.readUInt16LE(offset + 28);
    names.push(head.subarray(offset + 30, offset + 30 + nameLength).toString('utf8'));
    if (flags & 0x08) break;
    offset += 30 + nameLength + extraLength + compressedSize;
  }
  return names;
}

/** A ZIP container: the OOXML, OpenDocument or EPUB format its entries say, else what the client claimed of the ZIP family, else a plain ZIP. */
function zipType(head: Buffer, claimed: string): string {
  const names = zipEntryNames(head);
  const has = (prefix: string) => names.some((name) => name.startsWith(prefix));
  if (has('word/')) return OOXML.docx;
  if (has('xl/')) return OOXML.xlsx;
  if (has('ppt/')) return OOXML.pptx;
  // OpenDocument and EPUB store their type first, uncompressed, in an entry named `mimetype`.
  const declared = /^mimetype(application\/(epub\+zip|vnd\.oasis\.opendocument\.[a-z]+))/.exec(ascii(head, 30, 120));
  if (declared) return declared[1]!;
  // Entries past the walk (data descriptors): the client's claim is believed within the ZIP family only.
  return ZIP_CLAIMS.has(claimed) ? claimed : 'application/zip';
}

/** UTF-8 without NUL bytes or many control characters; a multi-byte sequence cut by the end of `head` is allowed when the file goes on. */
function looksLikeText(head: Buffer, complete: boolean): boolean {
  if (head.length === 0) return true;
  let control = 0;
  for (const byte of head) {
    if (byte === 0) return false;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b)) control += 1;
  }
  if (control > head.length / 100) return false;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    decoder.decode(head, { stream: !complete });
    return true;
  } catch {
    return false;
  }
}

function textType(head: Buffer, claimed: string, filename: string): string {
  const start = head.subarray(0, 1024).toString('utf8').trimStart().toLowerCase();
  if (start.startsWith('<svg') || (start.startsWith('<?xml') && start.includes('<svg'))) return 'image/svg+xml';
  const looksLikeJson = start.startsWith('{') || start.startsWith('[');
  const byName = TEXT_BY_EXTENSION[extensionOf(filename)];
  for (const candidate of [claimed, byName]) {
    if (!candidate || !TEXTUAL_CLAIM.test(candidate)) continue;
    // A JSON claim is believed only for content that starts like JSON.
    if (candidate === 'application/json' && !looksLikeJson) continue;
    return candidate;
  }
  return 'text/plain';
}

/**
 * The upload's type judged from its first bytes (`head`), not from its name: binary formats by their magic
 * bytes (PDF, PNG, JPEG, GIF, WEBP, HEIC, ZIP with OOXML/OpenDocument/EPUB inside, audio and video), text by
 * being valid UTF-8 without control bytes (its subtype from the claimed type or the name, when textual).
 * Anything else is `application/octet-stream`. `complete`: `head` is the whole file.
 */
export function sniffFileType(head: Buffer, claimed: { mimetype: string; filename: string }, complete: boolean): string {
  const claimedType = claimed.mimetype.toLowerCase().split(';')[0]!.trim();
  if (head.subarray(0, 1024).includes('%PDF-')) return 'application/pdf';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'image/webp';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE') return 'audio/wav';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return zipType(head, claimedType);
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return 'image/heic';
    if (brand === 'M4A ') return 'audio/mp4';
    return 'video/mp4';
  }
  if (ascii(head, 0, 3) === 'ID3' || (head[0] === 0xff && (head[1]! & 0xe0) === 0xe0 && head.length > 1)) return 'audio/mpeg';
  if (ascii(head, 0, 4) === 'OggS') return 'audio/ogg';
  if (ascii(head, 0, 4) === 'fLaC') return 'audio/flac';
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return 'video/webm';
  if (looksLikeText(head, complete)) return textType(head, claimedType, claimed.filename);
  return OCTET_STREAM;
}

/**
 * Holds back the first SNIFF_BYTES of a stream (or all of it, if shorter), hands them to `inspect` — which
 * may throw to refuse the upload before a byte reaches storage — and then lets everything through.
 */
export class HeadInspector extends Transform {
  #held: Buffer[] = [];
  #heldBytes = 0;
  #inspected = false;

  constructor(private readonly inspect: (head: Buffer, complete: boolean) => void) {
    super();
  }

  #release(complete: boolean, callback: TransformCallback) {
    this.#inspected = true;
    const head = Buffer.concat(this.#held);
    this.#held = [];
    try {
      this.inspect(head.subarray(0, SNIFF_BYTES), complete && head.length <= SNIFF_BYTES);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, head);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    if (this.#inspected) return callback(null, chunk);
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#heldBytes >= SNIFF_BYTES) return this.#release(false, callback);
    callback();
  }

  override _flush(callback: TransformCallback) {
    if (this.#inspected) return callback();
    this.#release(true, callback);
  }
}
