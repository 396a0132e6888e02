import { mkdtemp, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * s3rver runs in a child process, so what it holds in memory is not counted as the API's (the upload tests
 * measure the API's RSS in this process). It prints its port on its first line.
 */
const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[1] });
server.run().then(({ port }) => console.log(port));
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
`;

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** Keys a strategy accepts; s3rver checks no signature. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The S3_* environment that points durachat at this server. */
  environment: Record<string, string>;
  client: S3Client;
  close(): Promise<void>;
}

/** A real S3-compatible server (s3rver, from npm) in a child process, on a free port, with one empty bucket. */
export async function startS3TestServer(bucket = 'durachat-test'): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(tmpdir(), 'durachat-s3-'));
  const child = spawn(process.execPath, ['-e', SERVER_SCRIPT, directory], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    credentials,
    environment: { S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    client,
    async close() {
      client.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
