import type { FileStrategy } from '../../shared/file-config.ts';
import type { FileStorages } from '../files/storage/create-file-storage.ts';
import { NotFoundInStorageError } from '../files/storage/file-storage.ts';
import type { PromptImage } from '../providers/provider.ts';
import { MAX_PROMPT_IMAGE_BYTES, type PlannedImage } from './attached-files.ts';

export interface LoadedImages {
  images: PromptImage[];
  /** One line per image that could not be read (the model is told instead of the reply failing). */
  notes: string[];
}

class ImageTooLargeError extends Error {}

async function readBounded(storages: FileStorages, image: PlannedImage, signal?: AbortSignal): Promise<Buffer> {
  const { body } = await storages(image.source as FileStrategy).get(image.storageKey);
  const parts: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body) {
      signal?.throwIfAborted();
      bytes += (chunk as Buffer).length;
      // The record's size was checked; this guards against an object that grew behind its record's back.
      if (bytes > MAX_PROMPT_IMAGE_BYTES) throw new ImageTooLargeError(`it is larger than ${MAX_PROMPT_IMAGE_BYTES / 1024 / 1024} MB`);
      parts.push(chunk as Buffer);
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(parts);
}

/**
 * The planned images' bytes, read from their storage inside the activity that calls the provider (they never
 * travel through workflow history). An image that cannot be read becomes a note: a missing object or a
 * storage that fails now should not cost the user the whole reply.
 */
export async function loadPromptImages(planned: PlannedImage[], storages: FileStorages | undefined, signal?: AbortSignal): Promise<LoadedImages> {
  const loaded: LoadedImages = { images: [], notes: [] };
  for (const image of planned) {
    const name = `"${image.filename.replace(/"/g, "'")}"`;
    if (!storages) {
      loaded.notes.push(`Attached image ${name} could not be read: this server has no file storage set up for replies.`);
      continue;
    }
    try {
      const bytes = await readBounded(storages, image, signal);
      loaded.images.push({ mimeType: image.mimeType, data: bytes.toString('base64'), ...(image.width && image.height ? { width: image.width, height: image.height } : {}) });
    } catch (error) {
      signal?.throwIfAborted();
      const reason = error instanceof NotFoundInStorageError ? 'it is missing from storage' : error instanceof ImageTooLargeError ? error.message : `the file storage failed (${(error as Error).message.slice(0, 200)})`;
      loaded.notes.push(`Attached image ${name} could not be read: ${reason}.`);
    }
  }
  return loaded;
}
