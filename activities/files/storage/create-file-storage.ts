import path from 'node:path';
import { s3SettingsFrom, type FileEnvironment, type FileStrategy } from '../../../shared/file-config.ts';
import type { FileStorage } from './file-storage.ts';
import { createLocalFileStorage } from './local-file-storage.ts';

/**
 * The S3 storage with its SDK loaded on first use: @aws-sdk/client-s3 and lib-storage hold ~21 MiB of a
 * process's memory (measured alone), which the API and workers of a deployment on local storage never need.
 */
function lazyS3Storage(environment: FileEnvironment): FileStorage {
  const settings = s3SettingsFrom(environment);
  let loaded: Promise<FileStorage> | undefined;
  const storage = () => {
    loaded ??= import('./s3-file-storage.ts').then((module) => module.createS3FileStorage(settings));
    loaded.catch(() => (loaded = undefined));
    return loaded;
  };
  return {
    source: 's3',
    put: async (key, body, options) => (await storage()).put(key, body, options),
    get: async (key) => (await storage()).get(key),
    delete: async (key) => (await storage()).delete(key),
    exists: async (key) => (await storage()).exists(key),
  };
}

export type { FileStorage } from './file-storage.ts';

/** One storage per strategy, built on first use: the API and the workers share this. */
export function createFileStorages(settings: { dataDir: string; environment: FileEnvironment }) {
  const built = new Map<FileStrategy, FileStorage>();
  return function storageFor(strategy: FileStrategy): FileStorage {
    let storage = built.get(strategy);
    if (!storage) {
      storage = strategy === 's3' ? lazyS3Storage(settings.environment) : createLocalFileStorage(path.join(settings.dataDir, 'uploads'));
      built.set(strategy, storage);
    }
    return storage;
  };
}
export type FileStorages = ReturnType<typeof createFileStorages>;
