/**
 * The build the project's processes run (`npm run build [-- <dir>]`, default `dist/`): each entry point
 * bundled by esbuild into one ES module of JavaScript, with the code it imports on first use (the provider
 * SDK adapters, S3, LanceDB) split into chunks it loads then, and every npm package left to node_modules.
 *
 * Why: under tsx every process (and every thread it starts: the workflow threads, the Piscina threads)
 * registers tsx's loader and transpiles the sources as it imports them. The worker peaked 80 MiB lower at
 * start and 30–60 MiB lower under load without it, the API ~40 MiB lower (bench/README.md, "Running the
 * build"). `npm start`, the benchmarks and the kill tests run the build; `node --import tsx <entry>.ts`
 * still works the same (the tests' in-process stacks run the sources).
 *
 * Entry `x/y.ts` becomes `<dir>/x/y.mjs` (`builtFile`, infra/node-entry-points.ts). The output must sit
 * inside the project, so the packages resolve from its node_modules. Old chunks are not deleted: a running
 * process may still import one on first use, and chunk names carry a content hash.
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const projectRoot = path.resolve(import.meta.dirname, '..');

/** The entry points, as paths from the project root: the processes and the Piscina task files. */
export const builtEntryPoints = ['api/server.ts', 'workers/worker.ts', 'workers/demo-provider.ts', 'workers/tasks/count-tokens.ts', 'workers/tasks/extract-text.ts'] as const;

export async function buildEntryPoints(outputDirectory = path.join(projectRoot, 'dist')): Promise<{ outputDirectory: string; milliseconds: number }> {
  const started = Date.now();
  const outdir = path.resolve(outputDirectory);
  if (path.relative(projectRoot, outdir).startsWith('..')) throw new Error(`the build must be inside ${projectRoot} (its packages resolve from node_modules there), not in ${outdir}`);
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
    // shared/build-paths.ts: where the Piscina task files and the sources are when running from here.
    define: { __DURACHAT_BUILD_DIR__: JSON.stringify(outdir), __DURACHAT_SOURCE_ROOT__: JSON.stringify(projectRoot) },
    logLevel: 'warning',
  });
  return { outputDirectory: outdir, milliseconds: Date.now() - started };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { outputDirectory, milliseconds } = await buildEntryPoints(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`entry points built into ${path.relative(process.cwd(), outputDirectory) || '.'} (${milliseconds} ms)`);
}
