import type { PromptImage } from '../../activities/providers/provider.ts';
import { pngBytes } from './file-fixtures.ts';

/** A real 1×1 GIF (43 bytes). */
export const gifBytes = new Uint8Array(Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'));

/** Images as the prompt builder hands them to a provider (vision input): real PNG and GIF bytes. */
export const pngImage: PromptImage = { mimeType: 'image/png', data: Buffer.from(pngBytes).toString('base64'), width: 1, height: 1 };
export const gifImage: PromptImage = { mimeType: 'image/gif', data: Buffer.from(gifBytes).toString('base64'), width: 1, height: 1 };
/** GIF bytes labelled as PNG: providers that check the bytes against the declared type refuse it. */
export const mislabelledImage: PromptImage = { mimeType: 'image/png', data: gifImage.data };
/** Not base64 at all. */
export const undecodableImage: PromptImage = { mimeType: 'image/png', data: 'this is not base64!' };
/** A type no provider accepts, as a PromptImage could only carry it by a cast. */
export const bmpImage = { mimeType: 'image/bmp', data: Buffer.from('BM fake bitmap').toString('base64') } as unknown as PromptImage;
