/** Drops a UTF-8 character cut in half at the end of a size-capped read. */
function withoutCutCharacter(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(4, bytes.byteLength); back += 1) {
    const byte = bytes[bytes.byteLength - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.subarray(0, bytes.byteLength - back) : bytes;
  }
  return bytes;
}

/**
 * Text bytes to a string: UTF-16 by its byte-order mark, else UTF-8, else Windows-1252 (old exports).
 * `truncated` says the bytes are a prefix of the file, so a character may be cut at the end.
 */
export function decodeText(bytes: Uint8Array, truncated = false): string {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder('utf-16le').decode(bytes);
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder('utf-16be').decode(bytes);
  else {
    const complete = truncated ? withoutCutCharacter(bytes) : bytes;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(complete);
    } catch {
      text = new TextDecoder('windows-1252').decode(bytes);
    }
  }
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}
