import path from 'node:path';
import { s3SettingsFrom, type FileEnvironment, type FileStrategy } from '../../../shared/file-config.ts';
import type { FileStorage } from './file-storage.ts';
import { createLocalFileStorage } from './local-file-storage.ts';
import { createS3FileStorage } from './s3-file-storage.ts';

export type { FileStorage } from './file-storage.ts';

/** One storage per strategy, built on first use: the API and the workers share this. */
export function createFileStorages(settings: { dataDir: string; environment: FileEnvironment }) {
  const built = new Map<FileStrategy, FileStorage>();
  return function storageFor(strategy: FileStrategy): FileStorage {
    let storage = built.get(strategy);
    if (!storage) {
      storage = strategy === 's3' ? createS3FileStorage(s3SettingsFrom(settings.environment)) : createLocalFileStorage(path.join(settings.dataDir, 'uploads'));
      built.set(strategy, storage);
    }
    return storage;
  };
}
export type FileStorages = ReturnType<typeof createFileStorages>;
