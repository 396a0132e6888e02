/**
 * The build the project's processes run: each entry point bundled by esbuild into one ES module of
 * JavaScript, with the code it imports on first use (the provider SDK adapters, S3, LanceDB) split into
 * chunks it loads then, and every npm package left to node_modules.
 *
 * Why: under tsx every process (and every thread it starts: the workflow threads, the Piscina threads)
 * registers tsx's loader and transpiles the sources as it imports them. Without it the worker held ~50 MiB
 * less idle and peaked lower under load, the API ~40 MiB less (bench/README.md, "Running the build").
 * `npm start`, the benchmarks and the kill tests run the build; `node --import tsx <entry>.ts` still works
 * the same (the tests' in-process stacks run the sources, and so does `npm start` if the build fails).
 *
 * `npm run build [-- <dir>]` (default dist/) writes a versioned build, `<dir>/<content hash>/`, and points
 * `<dir>/current` at it. A build is never rewritten in place: a running process loads chunks and task files
 * long after it started (on first use), and a second `npm start` building at the same time must not change
 * them under it. The three newest other builds are kept; older ones are removed.
 *
 * Entry `x/y.ts` becomes `<build>/x/y.mjs` (`builtFile`, infra/node-entry-points.ts). The build must sit
 * inside the project, so the packages resolve from its node_modules; it finds itself and the sources at run
 * time through its marker file (shared/build-paths.ts), so the project may be moved or copied whole.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILD_MARKER } from '../shared/build-paths.ts';

export const projectRoot = path.resolve(import.meta.dirname, '..');

/** The entry points, as paths from the project root: the processes and the Piscina task files. */
export const builtEntryPoints = ['api/server.ts', 'workers/worker.ts', 'workers/demo-provider.ts', 'workers/tasks/count-tokens.ts', 'workers/tasks/extract-text.ts'] as const;

const KEEP_OTHER_BUILDS = 3;

/** The resolved directory, if it is a folder inside the project (not the root itself); else it throws. */
function insideProject(directory: string): string {
  const resolved = path.resolve(directory);
  const relative = path.relative(projectRoot, resolved);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new Error(`the build must go in a folder inside ${projectRoot} (its packages resolve from node_modules there), not ${resolved}`);
  }
  return resolved;
}

/** Builds into `outputDirectory` (created; what is there already is overwritten, not cleared). */
export async function buildEntryPoints(outputDirectory: string): Promise<{ outputDirectory: string; milliseconds: number }> {
  const started = Date.now();
  const outdir = insideProject(outputDirectory);
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: builtEntryPoints.map((entry) => path.join(projectRoot, entry)),
    absWorkingDir: projectRoot,
    outbase: projectRoot,
    outdir,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Dynamic import() of the project's own modules becomes a chunk loaded on first use, as under tsx.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    // Functions and classes keep their names where esbuild renames clashing ones (errors' `name` comes from
    // their class: shared/errors.ts).
    keepNames: true,
    // shared/build-paths.ts: this process runs a build, which it finds through BUILD_MARKER.
    define: { __DURACHAT_BUILD__: 'true' },
    logLevel: 'silent',
  });
  writeFileSync(path.join(outdir, BUILD_MARKER), `${JSON.stringify({ sourceRoot: path.relative(outdir, projectRoot) })}\n`);
  return { outputDirectory: outdir, milliseconds: Date.now() - started };
}

function contentHash(directory: string): string {
  const hash = createHash('sha256');
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(directory, relative), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const name = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(name);
      else if (name !== BUILD_MARKER) hash.update(`${name}\0`).update(readFileSync(path.join(directory, name))).update('\0');
    }
  };
  walk('');
  return hash.digest('hex').slice(0, 12);
}

/**
 * A versioned build in `parent` (see above): built aside, named by its content, reused when that build
 * exists already; `parent/current` points at it. Returns the build's directory.
 */
export async function buildVersion(parent = path.join(projectRoot, 'dist')): Promise<{ directory: string; reused: boolean; milliseconds: number }> {
  const started = Date.now();
  // Checked before anything is made there, so a clean-up failure cannot hide the reason.
  const staging = path.join(insideProject(parent), `.staging-${process.pid}-${Date.now()}`);
  try {
    await buildEntryPoints(staging);
    const directory = path.join(parent, contentHash(staging));
    const reused = existsSync(path.join(directory, BUILD_MARKER));
    if (reused) {
      const now = new Date();
      utimesSync(directory, now, now);
    } else {
      rmSync(directory, { recursive: true, force: true });
      renameSync(staging, directory);
    }
    const link = path.join(parent, `.current-${process.pid}`);
    rmSync(link, { force: true });
    symlinkSync(path.basename(directory), link);
    renameSync(link, path.join(parent, 'current'));
    pruneBuilds(parent, directory);
    return { directory, reused, milliseconds: Date.now() - started };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function pruneBuilds(parent: string, keep: string) {
  const others = readdirSync(parent, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^[0-9a-f]{12}$/.test(entry.name) && path.join(parent, entry.name) !== keep)
    .map((entry) => ({ directory: path.join(parent, entry.name), modified: statSync(path.join(parent, entry.name)).mtimeMs }))
    .sort((a, b) => b.modified - a.modified);
  for (const { directory } of others.slice(KEEP_OTHER_BUILDS)) rmSync(directory, { recursive: true, force: true });
}

if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  try {
    const { directory, reused, milliseconds } = await buildVersion(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
    // The last line is the build's directory: infra/run-stack.ts reads it.
    console.log(`entry points ${reused ? 'already built in' : 'built into'} ${path.relative(process.cwd(), directory)} (${milliseconds} ms); ${path.relative(process.cwd(), path.join(path.dirname(directory), 'current'))} points to it`);
    console.log(directory);
  } catch (error) {
    console.error(`build failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
