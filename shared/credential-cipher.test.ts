import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'vitest';
import { createCredentialCipher } from './credential-cipher.ts';

const cipher = createCredentialCipher(randomBytes(32).toString('hex'));

test('round-trips, with a fresh IV per value and no plaintext in the stored form', () => {
  const first = cipher.encrypt('sk-secret', 'user-1\nbyok');
  const second = cipher.encrypt('sk-secret', 'user-1\nbyok');
  assert.notEqual(first, second);
  assert.equal(first.includes('sk-secret'), false);
  assert.equal(cipher.decrypt(first, 'user-1\nbyok'), 'sk-secret');
});

test('refuses a value moved to another user or key name, a tampered value, and another CREDS_KEY', () => {
  const stored = cipher.encrypt('sk-secret', 'user-1\nbyok');
  assert.throws(() => cipher.decrypt(stored, 'user-2\nbyok'));
  assert.throws(() => cipher.decrypt(stored, 'user-1\nother'));
  const [version, iv, tag, body] = stored.split(':');
  const flipped = Buffer.from(body!, 'base64');
  flipped[0]! ^= 1;
  assert.throws(() => cipher.decrypt([version, iv, tag, flipped.toString('base64')].join(':'), 'user-1\nbyok'));
  assert.throws(() => createCredentialCipher(randomBytes(32).toString('hex')).decrypt(stored, 'user-1\nbyok'));
  assert.throws(() => createCredentialCipher('abcd'), /32 bytes/);
});
