import { BrokenFileError } from './extraction-errors.ts';
import type { ZipEntry } from './zip-entries.ts';

// A DOCX or XLSX unpacks to a few times its size; past these a parser would hold hundreds of MB (a zip
// bomb, or a sheet with absurd dimensions), so the file is refused before anything is inflated.
const maxUnpackedBytes = 512 * 1024 * 1024;
const maxEntryBytes = 256 * 1024 * 1024;

export function assertReasonableArchive(entries: ZipEntry[] | undefined, kind: string): void {
  // Without its central directory (damaged, or one too large to be an ordinary office file) the sizes cannot
  // be checked before inflating: refused rather than trusted.
  if (!entries) throw new BrokenFileError(`The ${kind} is damaged or too unusual to read safely.`);
  const total = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
  const largest = entries.reduce((max, entry) => Math.max(max, entry.uncompressedSize), 0);
  if (total > maxUnpackedBytes || largest > maxEntryBytes) {
    throw new BrokenFileError(`The ${kind} is too large to read: it unpacks to ${Math.round(total / 1024 / 1024)} MB.`);
  }
}
