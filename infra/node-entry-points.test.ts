import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { nodeProcessEnvironment } from './node-entry-points.ts';

test('the processes start with two malloc arenas unless the caller chose a number', () => {
  expect(nodeProcessEnvironment({ PATH: '/bin' })).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '2' });
  expect(nodeProcessEnvironment({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX).toBe('8');
  // What a started process sees.
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(process.env.MALLOC_ARENA_MAX ?? "")'], { env: nodeProcessEnvironment({ PATH: process.env.PATH }) as NodeJS.ProcessEnv, encoding: 'utf8' });
  expect(child.stdout).toBe('2');
});
