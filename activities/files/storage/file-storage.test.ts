import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { startS3TestServer, type S3TestServer } from '../../../test/helpers/s3-test-server.ts';
import { FileTooLargeError, NotFoundInStorageError, storageKey, type FileStorage } from './file-storage.ts';
import { createLocalFileStorage } from './local-file-storage.ts';
import { createS3FileStorage } from './s3-file-storage.ts';

const MB = 1024 * 1024;

/** `total` bytes in chunks of 64 KiB, made as they are read (nothing held in memory). */
function generated(total: number, fill = 0x61): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const size = Math.min(64 * 1024, total - sent);
      sent += size;
      this.push(Buffer.alloc(size, fill));
    },
  });
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const user = 'a'.repeat(24);

/** The same contract for every strategy. */
function storageSuite(name: string, setup: () => Promise<{ storage: FileStorage; leftovers: () => Promise<number>; close: () => Promise<void> }>) {
  describe(`${name} file storage`, () => {
    let storage: FileStorage;
    let leftovers: () => Promise<number>;
    let close: () => Promise<void>;
    beforeAll(async () => ({ storage, leftovers, close } = await setup()));
    afterAll(async () => close());

    test('put, exists, get and delete round-trip the bytes, and delete is idempotent', async () => {
      const key = storageKey(user, randomUUID());
      const content = Buffer.from('hello, durable files\n');
      const stored = await storage.put(key, Readable.from([content]), { contentType: 'text/plain', maxBytes: MB });
      assert.deepEqual(stored, { bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') });
      assert.equal(await storage.exists(key), true);
      const { body, size } = await storage.get(key);
      assert.equal(size, content.length);
      assert.deepEqual(await readAll(body), content);
      await storage.delete(key);
      await storage.delete(key);
      assert.equal(await storage.exists(key), false);
      await assert.rejects(storage.get(key), NotFoundInStorageError);
    });

    test('a body larger than one multipart part streams through whole', async () => {
      const key = storageKey(user, randomUUID());
      const stored = await storage.put(key, generated(12 * MB), { contentType: 'application/octet-stream', maxBytes: 20 * MB });
      assert.equal(stored.bytes, 12 * MB);
      const { body } = await storage.get(key);
      let bytes = 0;
      for await (const chunk of body) bytes += (chunk as Buffer).length;
      assert.equal(bytes, 12 * MB);
      await storage.delete(key);
    });

    test('past maxBytes the write fails with FileTooLargeError and leaves nothing behind', async () => {
      for (const total of [2 * MB, 11 * MB]) {
        const key = storageKey(user, randomUUID());
        await assert.rejects(storage.put(key, generated(total), { contentType: 'text/plain', maxBytes: MB }), FileTooLargeError);
        assert.equal(await storage.exists(key), false);
      }
      assert.equal(await leftovers(), 0);
    });

    test('a body that breaks mid-way leaves nothing behind', async () => {
      const key = storageKey(user, randomUUID());
      const broken = new Readable({ read() {} });
      broken.push(Buffer.alloc(6 * MB, 1));
      setTimeout(() => broken.destroy(new Error('client went away')), 50);
      await assert.rejects(storage.put(key, broken, { contentType: 'text/plain', maxBytes: 50 * MB }), /client went away/);
      assert.equal(await storage.exists(key), false);
      assert.equal(await leftovers(), 0);
    });

    test('keys are server-made: path tricks are refused before any I/O', async () => {
      assert.throws(() => storageKey('..', 'x'));
      assert.throws(() => storageKey(user, '../../etc/passwd'));
      await assert.rejects(storage.exists('../outside'));
      await assert.rejects(storage.put(`${user}/../../x`, Readable.from(['x']), { contentType: 'text/plain', maxBytes: 10 }));
    });
  });
}

storageSuite('local', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'durachat-uploads-'));
  return {
    storage: createLocalFileStorage(root),
    // Temporary files of cut-off writes.
    leftovers: async () => (await readdir(path.join(root, '.partial')).catch(() => [])).length,
    close: () => rm(root, { recursive: true, force: true }),
  };
});

let s3: S3TestServer;
storageSuite('s3', async () => {
  s3 = await startS3TestServer();
  const storage = createS3FileStorage({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials, keyPrefix: 'uploads/' });
  const { ListObjectsV2Command, ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3');
  return {
    storage,
    // Unfinished multipart uploads are what a cut-off write could leave in S3; s3rver may not list them.
    leftovers: async () => {
      const uploads = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket })).catch(() => ({ Uploads: [] }));
      const objects = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
      return (uploads.Uploads?.length ?? 0) + (objects.KeyCount ?? 0);
    },
    close: () => s3.close(),
  };
});
