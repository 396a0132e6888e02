import assert from 'node:assert/strict';
import { test } from 'vitest';
import { isBlockedAddress, userUrlProblem } from './outbound-address.ts';

test('private, local, link-local and mapped addresses are blocked; public ones are not', () => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::7f00:1', '::ffff:7f00:1', '64:ff9b::a00:1', '64:ff9b:1::1', '2002:a00:1::1', 'fec0::1', '224.0.0.1']) {
    assert.equal(isBlockedAddress(address), true, address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isBlockedAddress(address), false, address);
});

test('a URL is judged by every address its host resolves to', async () => {
  const lookup = async (host: string) => ({ 'api.example.com': ['93.184.216.34'], 'sneaky.example.com': ['93.184.216.34', '10.0.0.5'], 'metadata.example.com': ['169.254.169.254'] })[host] ?? [];
  assert.equal(await userUrlProblem('https://api.example.com/v1', lookup), undefined);
  assert.match((await userUrlProblem('https://sneaky.example.com/v1', lookup))!, /sneaky\.example\.com is a private or local address/);
  assert.match((await userUrlProblem('http://metadata.example.com/', lookup))!, /private or local/);
  assert.doesNotMatch((await userUrlProblem('http://metadata.example.com/', lookup))!, /169\.254/, 'the internal address is not echoed');
  assert.match((await userUrlProblem('http://127.0.0.1:6379/', lookup))!, /private or local/);
  assert.match((await userUrlProblem('http://[::1]:5432/', lookup))!, /private or local/);
  // Literal forms the URL parser normalises: decimal and hex IPv4, IPv4-mapped and IPv4-compatible IPv6.
  for (const url of ['http://2130706433/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/', 'http://[::127.0.0.1]/']) assert.match((await userUrlProblem(url, lookup))!, /private or local/, url);
  assert.match((await userUrlProblem('http://nowhere.example.com/', lookup))!, /could not be resolved/);
  assert.match((await userUrlProblem('file:///etc/passwd', lookup))!, /only http and https/);
});
