/**
 * Files a process finds by path rather than by import: the Piscina task files, and the workflow sources a
 * worker bundles when no WORKFLOW_BUNDLE_PATH is given. Under tsx they are the TypeScript sources. In a
 * build (infra/build-entry-points.ts), where esbuild defines __DURACHAT_BUILD__, the task files are the
 * build's own .mjs files; the build is found at run time by walking up from the running module (an entry
 * point or a chunk) to its marker file, which also says where the sources are, so a build moved or copied
 * with its project still works.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

declare const __DURACHAT_BUILD__: boolean | undefined;

/** The file at the top of every build. */
export const BUILD_MARKER = 'durachat-build.json';

function findBuild(): { directory: string; sourceRoot: string } {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let directory = start; ; directory = path.dirname(directory)) {
    const marker = path.join(directory, BUILD_MARKER);
    if (existsSync(marker)) {
      const { sourceRoot } = JSON.parse(readFileSync(marker, 'utf8')) as { sourceRoot: string };
      return { directory, sourceRoot: path.resolve(directory, sourceRoot) };
    }
    if (path.dirname(directory) === directory) throw new Error(`no ${BUILD_MARKER} above ${start}: this build is incomplete (npm run build makes a whole one)`);
  }
}

const build = typeof __DURACHAT_BUILD__ === 'boolean' && __DURACHAT_BUILD__ ? findBuild() : undefined;

/** The build's directory when this process runs a build; undefined when it runs the sources. */
export const buildDirectory: string | undefined = build?.directory;

/** The project's root (package.json, workflows/ …), either way. */
export const sourceRoot: string = build?.sourceRoot ?? path.resolve(import.meta.dirname, '..');

/**
 * A Piscina pool's `filename`, and `execArgv` when its threads need one. A thread inherits the process's
 * arguments unless given its own, and given ones may not hold V8 flags (the worker runs with one:
 * infra/node-entry-points.ts), so threads inherit them: the build's need nothing more, and the sources'
 * need tsx, which a worker started through tsx passes on. Only a process that runs the sources without tsx
 * (vitest's forks) gives its threads `--import tsx` explicitly.
 */
export function taskThread(name: 'count-tokens' | 'extract-text'): { filename: string; execArgv?: string[] } {
  if (buildDirectory) return { filename: pathToFileURL(path.join(buildDirectory, 'workers', 'tasks', `${name}.mjs`)).href };
  const filename = pathToFileURL(path.join(sourceRoot, 'workers', 'tasks', `${name}.ts`)).href;
  return process.execArgv.some((argument) => argument.includes('tsx')) ? { filename } : { filename, execArgv: [...process.execArgv, '--import', 'tsx'] };
}
