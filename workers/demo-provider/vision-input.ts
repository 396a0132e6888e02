/**
 * Images as the fake provider servers read them (vision input, issue 11). Each wire protocol has its own
 * shape and its own refusals (OpenAI image_url data URLs, Anthropic base64 image blocks, Gemini inlineData
 * parts, Bedrock image blocks); what they share is here: decoding base64 strictly, telling the image type
 * from its first bytes, and the image as the reply script sees it.
 */

/** The image types every supported API accepts, with Bedrock's `format` name for each. */
export const IMAGE_FORMATS = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' } as const;
export type ImageMimeType = keyof typeof IMAGE_FORMATS;

export const isImageMimeType = (value: unknown): value is ImageMimeType => typeof value === 'string' && Object.hasOwn(IMAGE_FORMATS, value);

/** An image as the reply script reads it: its declared type and decoded size, or the URL it was given by. */
export type SeenImage = { mimeType: string; bytes: number } | { url: string };

/**
 * Base64 decoded strictly, as the real APIs do (Node's own decoder silently skips bad characters): the
 * standard alphabet with padding, or with `urlSafe` (protobuf JSON, which Gemini parses) also `-`/`_`
 * and unpadded text. Undefined when the text is not base64.
 */
export function decodeBase64(text: unknown, options: { urlSafe?: boolean } = {}): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const pattern = options.urlSafe ? /^[A-Za-z0-9+/_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!pattern.test(text)) return undefined;
  const padded = text.length % 4 === 0;
  if (!padded && (!options.urlSafe || text.includes('=') || text.length % 4 === 1)) return undefined;
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The image type the bytes start with (PNG, JPEG, GIF or WebP signature), undefined for anything else. */
export function sniffImageType(bytes: Buffer): ImageMimeType | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

/** The reply to "describe the image": each image of the last user message, in order (reply-script.ts). */
export function describeImages(images: SeenImage[]): string {
  const described = images.map((image) => ('url' in image ? `url ${image.url}` : `${image.mimeType} ${image.bytes} bytes`));
  return `I see ${images.length} image(s)${described.length > 0 ? `: ${described.join('; ')}` : ''}`;
}
