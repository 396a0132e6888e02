import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { nodeArguments, nodeEntryPoints, nodeProcessEnvironment } from './node-entry-points.ts';

test('the processes start with two malloc arenas unless the caller chose a number', () => {
  expect(nodeProcessEnvironment({ PATH: '/bin' })).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '2' });
  expect(nodeProcessEnvironment({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX).toBe('8');
  // What a started process sees.
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(process.env.MALLOC_ARENA_MAX ?? "")'], { env: nodeProcessEnvironment({ PATH: process.env.PATH }) as NodeJS.ProcessEnv, encoding: 'utf8' });
  expect(child.stdout).toBe('2');
});

test("the worker's command carries its V8 flags, before the script, and node accepts them", () => {
  for (const buildDirectory of [undefined, '/app/dist/current']) {
    const worker = nodeArguments(nodeEntryPoints.worker, buildDirectory);
    expect(worker[0]).toBe('--heap-growing-percent=25');
    expect(worker.at(-1)).toMatch(/workers\/worker\.(ts|mjs)$/);
    expect(nodeArguments(nodeEntryPoints.api, buildDirectory)[0]).not.toMatch(/^--heap/);
  }
  const child = spawnSync(process.execPath, [...nodeArguments(nodeEntryPoints.worker).slice(0, -3), '-e', 'process.stdout.write("ran")'], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  expect(child.stdout).toBe('ran');
});
