import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Where uploaded files' bytes live. The API writes them (streamed, bounded) and the ingestion workers read
 * them back; both build one from the same settings (./create-file-storage.ts). Keys are made by the
 * server (`storageKey`), never taken from a request.
 */
export interface FileStorage {
  /** The strategy's name, as LibreChat's `source` on the file record (`local`, `s3`). */
  readonly source: 'local' | 's3';
  /**
   * Streams `body` to `key`. Past `maxBytes` the write stops with FileTooLargeError and nothing is left at
   * `key`; an abort (`signal`) or a broken body leaves nothing either. Resolves once the object is complete.
   */
  put(key: string, body: Readable, options: PutOptions): Promise<StoredObject>;
  /** The object's bytes; NotFoundInStorageError when it is absent. */
  get(key: string): Promise<{ body: Readable; size: number }>;
  /** Idempotent: deleting what is not there succeeds. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

export interface PutOptions {
  contentType: string;
  maxBytes: number;
  signal?: AbortSignal;
}

export interface StoredObject {
  bytes: number;
  sha256: string;
}

export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`File exceeds the maximum allowed size of ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}

export class NotFoundInStorageError extends Error {
  constructor(key: string) {
    super(`No stored object at ${key}`);
    this.name = 'NotFoundInStorageError';
  }
}

const keySegment = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * `<userId>/<fileId>`: both segments are checked, so no key can climb out of its folder or bucket prefix
 * even if a caller passes something it should not.
 */
export function storageKey(userId: string, fileId: string): string {
  if (!keySegment.test(userId) || !keySegment.test(fileId)) throw new Error('storage key segments must be [A-Za-z0-9_-]{1,128}');
  return `${userId}/${fileId}`;
}

export function assertStorageKey(key: string): void {
  const [userId, fileId, ...rest] = key.split('/');
  if (rest.length > 0 || !userId || !fileId) throw new Error(`invalid storage key: ${key}`);
  storageKey(userId, fileId);
}

/**
 * A pass-through that counts and hashes what flows, and fails with FileTooLargeError as soon as more than
 * `maxBytes` have come: the stream is cut at the limit, never buffered.
 */
export class MeteredStream extends Transform {
  bytes = 0;
  readonly #hash = createHash('sha256');
  #sha256?: string;

  constructor(readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new FileTooLargeError(this.maxBytes));
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback) {
    this.#sha256 = this.#hash.digest('hex');
    callback();
  }

  get sha256(): string {
    if (!this.#sha256) throw new Error('the stream has not ended');
    return this.#sha256;
  }
}
