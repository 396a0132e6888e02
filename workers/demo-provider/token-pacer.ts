import type { ServerResponse } from 'node:http';

export interface PacingOptions {
  tokensPerSecond: number;
  /** Close the connection (no proper end) after this many tokens: a dropped stream. */
  dropAfter?: number;
  /** Go silent (connection kept open) after this many tokens: a stalled provider. */
  stallAfter?: number;
}

/**
 * Writes a reply's tokens at the planned pace, whatever the wire format (`write` frames one token), and
 * plays the planned failure. 'done' when every token was written; otherwise the response is over.
 */
export async function paceTokens(response: ServerResponse, tokens: string[], options: PacingOptions, write: (token: string, index: number) => void): Promise<'done' | 'over'> {
  let closed = false;
  response.on('close', () => {
    closed = true;
  });
  const delayMs = options.tokensPerSecond > 0 ? 1000 / options.tokensPerSecond : 0;
  const started = Date.now();
  for (let index = 0; index < tokens.length; index += 1) {
    if (closed) return 'over';
    if (options.dropAfter !== undefined && index >= options.dropAfter) {
      // A mid-stream failure as the client sees it: what was sent arrives, then the socket closes without
      // a proper end. Flush first, or the client would see no response at all.
      await new Promise((resolve) => response.write('', resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      response.socket?.destroy();
      return 'over';
    }
    if (options.stallAfter !== undefined && index >= options.stallAfter) {
      // A provider that hangs mid-stream: what was sent arrives, then nothing, until the client gives up.
      while (!closed) await new Promise((resolve) => setTimeout(resolve, 100));
      return 'over';
    }
    if (delayMs > 0) {
      const wait = started + (index + 1) * delayMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (closed) return 'over';
    write(tokens[index]!, index);
  }
  return 'done';
}
