import { createHash } from 'node:crypto';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';

const MAX_USER_CLIENTS = 500;

/**
 * One SDK client per endpoint, reused across calls. A `user_provided` endpoint's client is keyed by a hash
 * of the user's key and base URL as well, so one user's call never goes out with another user's client; those
 * are kept least-recently-used, at most MAX_USER_CLIENTS of them.
 */
export function createClientCache<Client>(build: (endpoint: ResolvedEndpoint) => Client): (endpoint: ResolvedEndpoint) => Client {
  const clients = new Map<string, Client>();
  return (endpoint) => {
    const perUser = Boolean(endpoint.userProvide || endpoint.userProvideURL);
    const key = perUser ? `${endpoint.name}\n${createHash('sha256').update(`${endpoint.apiKey}\n${endpoint.baseURL ?? ''}`).digest('hex')}` : endpoint.name;
    let client = clients.get(key);
    if (client !== undefined) {
      if (perUser) {
        clients.delete(key);
        clients.set(key, client);
      }
      return client;
    }
    client = build(endpoint);
    clients.set(key, client);
    if (perUser && clients.size > MAX_USER_CLIENTS) {
      // The least recently used per-user client (shared endpoints' clients have no newline in their key).
      const oldest = [...clients.keys()].find((candidate) => candidate.includes('\n'));
      if (oldest) clients.delete(oldest);
    }
    return client;
  };
}

/**
 * Provider APIs answer where they are asked and never redirect an API call. A redirect is refused rather
 * than followed: a user-provided base URL that passed the address check (shared/outbound-address.ts) could
 * otherwise bounce the request, prompt included, to an internal address.
 */
/*
 * `manual`, not `error`: with `redirect: 'error'`, Node's fetch stopped honouring the abort signal of a
 * streaming response, so a stopped reply kept streaming (test/run-lifecycle.test.ts, 1,000 followers). With
 * `manual` a 3xx comes back as a response, which the SDKs treat as a failed call: never followed either way.
 */
export const NO_REDIRECTS = { redirect: 'manual' } as const satisfies RequestInit;
