import { existsSync, mkdirSync, readlinkSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { BUILD_MARKER } from '../shared/build-paths.ts';
import { buildEntryPoints, buildVersion, builtEntryPoints, projectRoot } from './build-entry-points.ts';
import { builtFile } from './node-entry-points.ts';

const parent = path.join(projectRoot, '.data', 'test', `builds-${process.pid}`);
afterAll(() => rmSync(parent, { recursive: true, force: true }));

test('a versioned build: named by its content, reused when unchanged, `current` points to it, three older ones kept', async () => {
  // Older builds of other contents, oldest first.
  const old = ['aaaaaaaaaaa1', 'aaaaaaaaaaa2', 'aaaaaaaaaaa3', 'aaaaaaaaaaa4', 'aaaaaaaaaaa5'];
  for (const [index, name] of old.entries()) {
    mkdirSync(path.join(parent, name), { recursive: true });
    const time = new Date(Date.now() - (old.length - index) * 60_000);
    utimesSync(path.join(parent, name), time, time);
  }
  const first = await buildVersion(parent);
  expect(first.reused).toBe(false);
  expect(path.dirname(first.directory)).toBe(parent);
  expect(path.basename(first.directory)).toMatch(/^[0-9a-f]{12}$/);
  for (const entry of builtEntryPoints) expect(existsSync(builtFile(first.directory, entry))).toBe(true);
  expect(existsSync(path.join(first.directory, BUILD_MARKER))).toBe(true);
  expect(readlinkSync(path.join(parent, 'current'))).toBe(path.basename(first.directory));
  // The three newest others stay (a running process may still load chunks from them); the rest go.
  expect(readdirSync(parent).sort()).toEqual(['aaaaaaaaaaa3', 'aaaaaaaaaaa4', 'aaaaaaaaaaa5', path.basename(first.directory), 'current'].sort());

  const second = await buildVersion(parent);
  expect(second).toMatchObject({ directory: first.directory, reused: true });
  // No staging folder is left behind.
  expect(readdirSync(parent).filter((name) => name.startsWith('.'))).toEqual([]);
});

test('the build goes inside the project (its packages resolve from node_modules there), never into the root itself', async () => {
  await expect(buildEntryPoints(path.join(os.tmpdir(), `durachat-build-${process.pid}`))).rejects.toThrow(/inside/);
  await expect(buildEntryPoints(projectRoot)).rejects.toThrow(/inside/);
  await expect(buildVersion(path.join(os.tmpdir(), `durachat-builds-${process.pid}`))).rejects.toThrow(/inside/);
});
