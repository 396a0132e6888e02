import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtFile } from '../infra/node-entry-points.ts';

const root = path.resolve(import.meta.dirname, '..');

/**
 * Packages a process must not load at start: each holds megabytes of memory (measured one by one: the
 * Anthropic SDK 12 MiB, Gemini's 9, Bedrock's 4, S3's 21, LanceDB with Arrow 17) and is needed only by
 * deployments that call that provider, store files on S3 or search files with LanceDB. They are loaded on
 * first use (activities/providers/index.ts, files/storage/create-file-storage.ts, files/index/lance-vector-index.ts).
 */
const LOADED_ON_FIRST_USE = ['@anthropic-ai/sdk', '@google/genai', '@aws-sdk/client-bedrock-runtime', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@lancedb/lancedb', 'apache-arrow'];

/** Value imports (not `import type`, not dynamic `import()`) of a TypeScript file, as written. */
function staticImports(source: string): string[] {
  const specifiers: string[] = [];
  const statement = /^(?:import|export)\s+(?!type\s)([\s\S]*?)\s+from\s+'([^']+)';?$|^import\s+'([^']+)';?$/gm;
  for (const match of source.matchAll(statement)) {
    const specifier = match[2] ?? match[3];
    // `import { type A, type B } from` carries no value either.
    const clause = match[1];
    if (clause && /^\{[^}]*\}$/.test(clause.trim()) && clause.slice(1, -1).split(',').every((name) => name.trim() === '' || name.trim().startsWith('type '))) continue;
    if (specifier) specifiers.push(specifier);
  }
  return specifiers;
}

/** Static imports of a file of the build (esbuild's output: `import ... from "x";` on one or more lines). */
function builtStaticImports(source: string): string[] {
  return [...source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s*"([^"]+)";|^import\s*"([^"]+)";/gm)].map((match) => (match[1] ?? match[2])!);
}

/**
 * Every package reachable from `file` through the static imports `importsOf` finds, following the project's
 * own files (dynamic `import()`, and so the build's chunks loaded on first use, is not followed): each
 * package with the first file found importing it.
 */
function packagesLoadedAtStart(file: string, importsOf: (source: string) => string[] = staticImports): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const pending = [file];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    for (const specifier of importsOf(readFileSync(current, 'utf8'))) {
      if (specifier.startsWith('.')) pending.push(path.resolve(path.dirname(current), specifier));
      else if (!specifier.startsWith('node:')) {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, path.relative(root, current));
      }
    }
  }
  return packages;
}

describe('what the processes load at start', () => {
  it.each(['workers/worker.ts', 'api/server.ts'])('%s loads no provider SDK, S3 client or LanceDB until it is used', (entry) => {
    const packages = packagesLoadedAtStart(path.join(root, entry));
    // The walk itself works: the worker and the API reach the packages everything needs.
    expect(packages.has('ioredis')).toBe(true);
    expect(packages.has('mongoose')).toBe(true);
    const loaded = LOADED_ON_FIRST_USE.filter((name) => packages.has(name)).map((name) => `${name} (imported by ${packages.get(name)})`);
    expect(loaded).toEqual([]);
  });

  it.each(['workers/worker.ts', 'api/server.ts'])('the build of %s (what npm start runs) loads none of them either', (entry) => {
    // Made once per test run by test/setup/global-setup.ts.
    const packages = packagesLoadedAtStart(builtFile(process.env.TEST_BUILD_DIR!, entry), builtStaticImports);
    expect(packages.has('ioredis')).toBe(true);
    expect(packages.has('mongoose')).toBe(true);
    expect(LOADED_ON_FIRST_USE.filter((name) => packages.has(name))).toEqual([]);
  });

  it('the walk sees a static import of one of them', () => {
    expect(builtStaticImports('import {\n  a\n} from "@anthropic-ai/sdk";\nimport "./chunks/x.mjs";\nconst s = "import y from \'z\'";')).toEqual(['@anthropic-ai/sdk', './chunks/x.mjs']);
    expect(staticImports("import Anthropic from '@anthropic-ai/sdk';\nimport type { X } from 'y';\nimport { type A } from 'z';\nimport { b, type C } from 'w';")).toEqual(['@anthropic-ai/sdk', 'w']);
  });
});
