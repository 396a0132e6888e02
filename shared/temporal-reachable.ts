import type { Connection } from '@temporalio/client';

/**
 * Whether the Temporal frontend can be reached within `timeoutMs`: resolves at once when the channel is
 * already connected, so it is cheap before every call. `Connection.ensureConnected()` is no substitute: it
 * remembers its first answer, so a Temporal that was down once would stay "down" for the process's life.
 * The gRPC client is a protected member of Connection; reaching it is the one way to ask the channel.
 */
export function temporalReachable(connection: Connection, timeoutMs: number): Promise<boolean> {
  const client = (connection as unknown as { client: { waitForReady: (deadline: number, callback: (error?: Error) => void) => void } }).client;
  return new Promise((resolve) => {
    try {
      client.waitForReady(Date.now() + timeoutMs, (error) => resolve(!error));
    } catch {
      resolve(false);
    }
  });
}
