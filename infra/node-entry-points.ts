import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** The project's own processes, as paths from the repository root: `npm start` runs each under supervision. */
export const nodeEntryPoints = {
  demoProvider: 'workers/demo-provider.ts',
  worker: 'workers/worker.ts',
  api: 'api/server.ts',
} as const;

/**
 * The environment the project's processes start with: the caller's, plus `MALLOC_ARENA_MAX=2` unless it is
 * set. glibc gives each thread that allocates its own malloc arena (up to eight per core), and the worker has
 * many such threads (the Temporal core's Rust runtime, V8's workflow threads, libuv's pool): under 200 streams
 * the worker's peak RSS was 512 instead of 551 MiB and 480 instead of 570 MiB with two arenas, with no CPU
 * cost the bench could tell from its noise (bench/README.md, "Fewer heartbeats"). glibc reads the variable at
 * process start, so it is set here, by the launcher, not by the process itself.
 */
export function nodeProcessEnvironment(environment: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '2', ...environment };
}

/** Where the build of `entry` (a path from the root, e.g. `workers/worker.ts`) is in `buildDirectory`. */
export function builtFile(buildDirectory: string, entry: string): string {
  return path.join(buildDirectory, entry.replace(/\.ts$/, '.mjs'));
}

/**
 * V8 flags by entry point. The worker's old generation may grow by 25 % over what the last full collection
 * kept, not V8's default (up to 2–4× when collections are quick): under 200 streams its peak RSS was
 * 401–427 MiB instead of 423–520 MiB, CPU within the bench's noise (bench/README.md, "Running the build").
 * V8 flags cannot go in NODE_OPTIONS, so they are part of the command.
 */
export const nodeFlags: Record<string, string[]> = {
  [nodeEntryPoints.worker]: ['--heap-growing-percent=25'],
};

/**
 * Node's arguments to run `entry`: its flags, then its build (infra/build-entry-points.ts) when a build
 * directory is given, else the TypeScript source through tsx.
 */
export function nodeArguments(entry: string, buildDirectory?: string): string[] {
  const flags = nodeFlags[entry] ?? [];
  return buildDirectory ? [...flags, builtFile(buildDirectory, entry)] : [...flags, '--import', 'tsx', path.join(root, entry)];
}
