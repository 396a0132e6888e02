import { randomBytes } from 'node:crypto';
import { log, postgresqlProblem, psql } from '../../infra/local-services.ts';

/**
 * The PostgreSQL search engine's schema for one test run: `durachat_search_test_<host>_<pid>_<random>` on the
 * server of SEARCH_POSTGRES_URL (default: FerretDB's, FERRETDB_POSTGRESQL_URL). Test files that want their
 * own add a suffix (`<run schema>_<file id>`); teardown drops the run's schema and every suffixed one, and
 * the next run drops those left by runs that crashed (their process is gone). Without PostgreSQL nothing is
 * exported, search is disabled for the run, and the PostgreSQL engine suite fails saying why.
 */
const runSchemaPattern = /^durachat_search_test_([0-9a-f]{8})_(\d+)_[0-9a-f]+(_.*)?$/;

export interface RunSearchSchema {
  url: string;
  schema: string;
}

export async function createRunSearchSchema(options: { url: string; hostId: string; processAlive: (pid: number) => boolean }): Promise<RunSearchSchema | undefined> {
  const problem = await postgresqlProblem(options.url);
  if (problem !== undefined) {
    log(`search: PostgreSQL not usable for the search tests (${problem}); search is disabled in this run`);
    return undefined;
  }
  const names = (await psql(options.url, "select nspname from pg_namespace where nspname like 'durachat\\_search\\_test\\_%'")).split('\n').filter(Boolean);
  for (const name of names) {
    const match = runSchemaPattern.exec(name);
    if (!match || match[1] !== options.hostId || options.processAlive(Number(match[2]))) continue;
    await psql(options.url, `drop schema if exists "${name}" cascade`).catch((error: Error) => log(`search: could not drop ${name} (${error.message})`));
  }
  return { url: options.url, schema: `durachat_search_test_${options.hostId}_${process.pid}_${randomBytes(3).toString('hex')}` };
}

/** Drops the run's schema and every `<schema>_<suffix>` a test file made. */
export async function dropRunSearchSchemas(run: RunSearchSchema): Promise<void> {
  const names = (await psql(run.url, `select nspname from pg_namespace where nspname = '${run.schema}' or nspname like '${run.schema.replaceAll('_', '\\_')}\\_%'`)).split('\n').filter(Boolean);
  for (const name of names) await psql(run.url, `drop schema if exists "${name}" cascade`);
}
