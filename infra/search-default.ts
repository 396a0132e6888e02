import { describeSearchConfig, loadSearchConfig } from '../shared/search-config.ts';
import { ferretdbPostgresqlUrl, postgresqlProblem, type FerretBackend } from './local-services.ts';

/**
 * `npm start`'s search engine. Unless the environment chooses one (SEARCH=false, MEILI_HOST + MEILI_MASTER_KEY,
 * SEARCH_POSTGRES_URL), search runs on the PostgreSQL server FerretDB uses, in its own schema
 * (`durachat_search`, which FerretDB ignores: it only sees schemas holding its metadata table). Without a
 * usable PostgreSQL (FerretDB on its SQLite fallback) search is off, and the returned line says why.
 *
 * Returns the variables to add to the API's and worker's environment, and one line for the start-up log.
 */
export async function localSearchDefault(backend: FerretBackend | undefined, environment: NodeJS.ProcessEnv = process.env): Promise<{ variables: Record<string, string>; line: string }> {
  const configured = loadSearchConfig(environment);
  if (configured.engine !== 'disabled' || /^(false|0)$/.test(environment.SEARCH ?? '')) return { variables: {}, line: describeSearchConfig(configured) };
  let url: string;
  if (backend?.handler === 'postgresql') url = backend.url;
  else {
    url = ferretdbPostgresqlUrl(environment);
    const problem = backend?.handler === 'sqlite' ? (backend.reason ?? 'FerretDB runs on SQLite') : await postgresqlProblem(url);
    if (problem !== undefined) {
      return { variables: {}, line: `disabled: no PostgreSQL for full-text search (${problem}); set SEARCH_POSTGRES_URL, or MEILI_HOST + MEILI_MASTER_KEY, to turn it on` };
    }
  }
  const variables = { SEARCH_POSTGRES_URL: url };
  return { variables, line: `${describeSearchConfig(loadSearchConfig({ ...environment, ...variables }))} (the local default: FerretDB's PostgreSQL server)` };
}
