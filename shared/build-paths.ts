/**
 * Files a process finds by path rather than by import: the Piscina task files, and the workflow sources a
 * worker bundles when no WORKFLOW_BUNDLE_PATH is given. Under tsx they are the TypeScript sources; in the
 * build (infra/build-entry-points.ts) the task files are its own .mjs files, and esbuild defines the two
 * constants below, since `import.meta.url` there names the bundle, not this file.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

declare const __DURACHAT_BUILD_DIR__: string | undefined;
declare const __DURACHAT_SOURCE_ROOT__: string | undefined;

/** The build's directory when this process runs the build; undefined when it runs the sources. */
export const buildDirectory: string | undefined = typeof __DURACHAT_BUILD_DIR__ === 'string' ? __DURACHAT_BUILD_DIR__ : undefined;

/** The project's root (package.json, workflows/ …), either way. */
export const sourceRoot: string = typeof __DURACHAT_SOURCE_ROOT__ === 'string' ? __DURACHAT_SOURCE_ROOT__ : path.resolve(import.meta.dirname, '..');

/**
 * A Piscina pool's `filename` and `execArgv` for a task file of workers/tasks/. The sources are TypeScript,
 * so their threads load tsx whether or not this process did (vitest's forks do not); the build's threads
 * need nothing.
 */
export function taskThread(name: 'count-tokens' | 'extract-text'): { filename: string; execArgv: string[] } {
  if (buildDirectory) return { filename: pathToFileURL(path.join(buildDirectory, 'workers', 'tasks', `${name}.mjs`)).href, execArgv: process.execArgv };
  const execArgv = process.execArgv.some((argument) => argument.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
  return { filename: pathToFileURL(path.join(sourceRoot, 'workers', 'tasks', `${name}.ts`)).href, execArgv };
}
