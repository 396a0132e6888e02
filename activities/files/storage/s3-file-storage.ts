import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStorageKey, MeteredStream, NotFoundInStorageError, type FileStorage, type PutOptions, type StoredObject } from './file-storage.ts';

export interface S3StorageSettings {
  bucket: string;
  region: string;
  /** Any S3-compatible server (MinIO, Ceph, R2, a local test server); unset: AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Unset: the SDK's default credential chain (instance role, profile, env). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Prepended to every key, so one bucket can hold several deployments. */
  keyPrefix: string;
}

/** A multipart part: the S3 minimum. At most `QUEUE_SIZE` parts are in memory at once per upload. */
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 2;

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata?.httpStatusCode === 404);
}

/**
 * Objects in an S3 bucket at `<keyPrefix><userId>/<fileId>`. Uploads stream through lib-storage's multipart
 * upload (the length is unknown while the client is still sending); a body cut off at `maxBytes` or
 * aborted makes lib-storage abort the multipart upload, so no object appears. Request checksums only when
 * an operation requires them: many S3-compatible servers refuse the SDK's newer default (CRC32 trailers).
 */
export function createS3FileStorage(settings: S3StorageSettings, client?: S3Client): FileStorage {
  const s3 =
    client ??
    new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.forcePathStyle,
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const objectKey = (key: string) => {
    assertStorageKey(key);
    return `${settings.keyPrefix}${key}`;
  };

  return {
    source: 's3',

    async put(key: string, body: Readable, options: PutOptions): Promise<StoredObject> {
      const meter = new MeteredStream(options.maxBytes);
      const piping = pipeline(body, meter);
      const upload = new Upload({
        client: s3,
        params: { Bucket: settings.bucket, Key: objectKey(key), Body: meter, ContentType: options.contentType },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      const abort = () => void upload.abort().catch(() => undefined);
      options.signal?.addEventListener('abort', abort, { once: true });
      const uploaded = upload.done();
      try {
        const [pipingResult, uploadResult] = await Promise.allSettled([piping, uploaded]);
        // The body's own failure (too large, client gone) says more than the upload's reaction to it.
        if (pipingResult.status === 'rejected') throw pipingResult.reason;
        if (uploadResult.status === 'rejected') throw uploadResult.reason;
      } finally {
        options.signal?.removeEventListener('abort', abort);
      }
      options.signal?.throwIfAborted();
      return { bytes: meter.bytes, sha256: meter.sha256 };
    },

    async get(key: string) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: settings.bucket, Key: objectKey(key) }));
        return { body: object.Body as Readable, size: object.ContentLength ?? 0 };
      } catch (error) {
        if (isNotFound(error)) throw new NotFoundInStorageError(key);
        throw error;
      }
    },

    async delete(key: string) {
      await s3.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: objectKey(key) }));
    },

    async exists(key: string) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: objectKey(key) }));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
  };
}
