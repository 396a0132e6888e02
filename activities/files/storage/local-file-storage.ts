import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStorageKey, MeteredStream, NotFoundInStorageError, type FileStorage, type PutOptions, type StoredObject } from './file-storage.ts';

/**
 * Files on local disk under `<root>/<userId>/<fileId>` (root: DATA_DIR/uploads). A write goes to a
 * temporary file in `<root>/.partial` (same file system) and is renamed into place only when complete, so
 * a reader never sees half a file and a cut-off upload leaves nothing at its key. Temporary files left by a
 * crashed process are the only leftovers; `.partial` can be emptied at start-up.
 */
export function createLocalFileStorage(root: string): FileStorage {
  const base = path.resolve(root);
  const partial = path.join(base, '.partial');
  const pathOf = (key: string) => {
    assertStorageKey(key);
    return path.join(base, ...key.split('/'));
  };

  return {
    source: 'local',

    async put(key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
      const target = pathOf(key);
      await mkdir(partial, { recursive: true });
      await mkdir(path.dirname(target), { recursive: true });
      const temporary = path.join(partial, `${key.replace('/', '_')}.${randomBytes(6).toString('hex')}`);
      const meter = new MeteredStream(options.maxBytes);
      try {
        await pipeline(body, meter, createWriteStream(temporary, { flags: 'wx', mode: 0o600 }), { signal: options.signal });
        await rename(temporary, target);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      return { bytes: meter.bytes, sha256: meter.sha256 };
    },

    async get(key: string) {
      const file = pathOf(key);
      try {
        const info = await stat(file);
        return { body: createReadStream(file), size: info.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundInStorageError(key);
        throw error;
      }
    },

    async delete(key: string) {
      await rm(pathOf(key), { force: true });
    },

    async exists(key: string) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
  };
}
