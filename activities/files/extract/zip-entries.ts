/**
 * Reads the entry names (and declared sizes) of a ZIP archive without decompressing anything, enough to
 * tell a DOCX (`word/`) from an XLSX (`xl/`) and to refuse a zip bomb before a parser inflates it.
 */
export interface ZipEntry {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  /** Where the entry's data starts in the archive (its local header): the order a streaming reader meets it. */
  localHeaderOffset: number;
}

const endOfCentralDirectorySignature = 0x06054b50;
const centralDirectorySignature = 0x02014b50;
const localFileSignature = 0x04034b50;

/**
 * `tail` holds the file's last bytes starting at absolute offset `tailOffset` (the whole file: offset 0).
 * Returns undefined when the central directory cannot be found in it (a truncated archive).
 */
export function readZipCentralDirectory(tail: Uint8Array, tailOffset: number): ZipEntry[] | undefined {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  // The end record is 22 bytes plus a comment of at most 65535 bytes.
  const earliest = Math.max(0, tail.byteLength - 22 - 65535);
  for (let position = tail.byteLength - 22; position >= earliest; position -= 1) {
    if (view.getUint32(position, true) !== endOfCentralDirectorySignature) continue;
    const entryCount = view.getUint16(position + 10, true);
    const directoryOffset = view.getUint32(position + 16, true) - tailOffset;
    if (directoryOffset < 0 || directoryOffset > position) return undefined;
    const entries: ZipEntry[] = [];
    let cursor = directoryOffset;
    for (let index = 0; index < entryCount; index += 1) {
      if (cursor + 46 > tail.byteLength || view.getUint32(cursor, true) !== centralDirectorySignature) return undefined;
      const nameLength = view.getUint16(cursor + 28, true);
      const extraLength = view.getUint16(cursor + 30, true);
      const commentLength = view.getUint16(cursor + 32, true);
      entries.push({
        name: new TextDecoder().decode(tail.subarray(cursor + 46, cursor + 46 + nameLength)),
        compressedSize: view.getUint32(cursor + 20, true),
        uncompressedSize: view.getUint32(cursor + 24, true),
        localHeaderOffset: view.getUint32(cursor + 42, true),
      });
      cursor += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  }
  return undefined;
}

/** Entry names from the local headers at the start of an archive: a fallback when only a prefix is at hand. */
export function scanZipLocalHeaders(head: Uint8Array): string[] {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const names: string[] = [];
  let cursor = 0;
  while (cursor + 30 <= head.byteLength && view.getUint32(cursor, true) === localFileSignature) {
    const flags = view.getUint16(cursor + 6, true);
    const compressedSize = view.getUint32(cursor + 18, true);
    const nameLength = view.getUint16(cursor + 26, true);
    const extraLength = view.getUint16(cursor + 28, true);
    if (cursor + 30 + nameLength > head.byteLength) break;
    names.push(new TextDecoder().decode(head.subarray(cursor + 30, cursor + 30 + nameLength)));
    // With a data descriptor (flag bit 3) the size is only known after the data: stop scanning there.
    if (flags & 0x08) break;
    cursor += 30 + nameLength + extraLength + compressedSize;
  }
  return names;
}
