import { Client, Connection } from '@temporalio/client';

/**
 * A Temporal client whose connection is made on first use, so the API starts (and serves everything
 * but chat) while Temporal is down; starting a run then fails fast and the user gets a 503.
 */
export function createTemporalClient(address: string, namespace: string): { client: Client; connection: Connection } {
  const connection = Connection.lazy({ address, connectTimeout: 3000 });
  return { client: new Client({ connection, namespace }), connection };
}
