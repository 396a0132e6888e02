import assert from 'node:assert/strict';
import { describe, test } from 'vitest';
import { fileConfigSchema, loadFileEnvironment, resolveFilesConfig, s3SettingsFrom } from './file-config.ts';

const MB = 1024 * 1024;

describe('fileConfig', () => {
  test("LibreChat's defaults with no section: 512 MB, 2 MB avatars, the default MIME list", () => {
    const { limits, strategyFor } = resolveFilesConfig({});
    assert.equal(limits.serverFileSizeLimit, 512 * MB);
    assert.equal(limits.avatarSizeLimit, 2 * MB);
    assert.equal(limits.fileTokenLimit, 100_000);
    const demo = limits.forEndpoint('demo');
    assert.equal(demo.fileSizeLimit, 512 * MB);
    assert.equal(demo.fileLimit, 10);
    for (const type of ['application/pdf', 'text/csv', 'image/png', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document']) {
      assert.ok(demo.supportedMimeTypes.some((pattern) => pattern.test(type)), type);
    }
    assert.ok(!demo.supportedMimeTypes.some((pattern) => pattern.test('application/octet-stream')));
    assert.equal(strategyFor('document'), 'local');
  });

  test('MB become bytes; an endpoint inherits from `default`; disabled takes nothing', () => {
    const section = fileConfigSchema.parse({
      serverFileSizeLimit: 100,
      avatarSizeLimit: 1,
      endpoints: { default: { fileSizeLimit: 5, fileLimit: 3 }, demo: { supportedMimeTypes: ['^text/.*$'] }, closed: { disabled: true } },
    });
    const { limits, section: raw } = resolveFilesConfig({ fileConfig: section });
    assert.equal(limits.serverFileSizeLimit, 100 * MB);
    assert.equal(limits.avatarSizeLimit, 1 * MB);
    assert.deepEqual({ ...limits.forEndpoint('demo'), supportedMimeTypes: limits.forEndpoint('demo').supportedMimeTypes.map(String) }, {
      disabled: false,
      fileLimit: 3,
      fileSizeLimit: 5 * MB,
      totalSizeLimit: 512 * MB,
      supportedMimeTypes: ['/^text\\/.*$/'],
    });
    assert.equal(limits.forEndpoint('other').fileSizeLimit, 5 * MB);
    assert.equal(limits.forEndpoint('closed').disabled, true);
    assert.equal(limits.forEndpoint('closed').fileSizeLimit, 0);
    assert.equal(limits.forEndpoint('__proto__').fileSizeLimit, 5 * MB);
    // The client gets the section as written.
    assert.equal(raw.serverFileSizeLimit, 100);
  });

  test('a MIME pattern that is no regular expression is refused', () => {
    const parsed = fileConfigSchema.safeParse({ endpoints: { default: { supportedMimeTypes: ['^image/(png$'] } } });
    assert.equal(parsed.success, false);
  });

  test('fileStrategies pick per kind, falling back to fileStrategy', () => {
    const files = resolveFilesConfig({ fileStrategy: 's3', fileStrategies: { avatar: 'local' } });
    assert.equal(files.strategyFor('avatar'), 'local');
    assert.equal(files.strategyFor('document'), 's3');
    assert.deepEqual(files.strategies.sort(), ['local', 's3']);
  });
});

describe('file environment', () => {
  test('S3 settings: a bucket is required, a key pair is whole, a custom endpoint means path-style', () => {
    assert.throws(() => s3SettingsFrom(loadFileEnvironment({})), /S3_BUCKET: required/);
    assert.throws(() => s3SettingsFrom(loadFileEnvironment({ S3_BUCKET: 'files', AWS_ACCESS_KEY_ID: 'id' })), /set both/);
    assert.deepEqual(s3SettingsFrom(loadFileEnvironment({ S3_BUCKET: 'files', S3_ENDPOINT: 'http://127.0.0.1:9000', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' })), {
      bucket: 'files',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      keyPrefix: 'uploads/',
    });
    assert.equal(s3SettingsFrom(loadFileEnvironment({ S3_BUCKET: 'files', S3_FORCE_PATH_STYLE: 'false', AWS_REGION: 'eu-west-1' })).forcePathStyle, false);
  });

  test("the upload limiter's LibreChat defaults", () => {
    const environment = loadFileEnvironment({});
    assert.deepEqual([environment.FILE_UPLOAD_IP_MAX, environment.FILE_UPLOAD_IP_WINDOW, environment.FILE_UPLOAD_USER_MAX, environment.FILE_UPLOAD_USER_WINDOW], [100, 15, 50, 15]);
  });
});
