export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

export interface SseResult {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** True when the stream ended by itself (final or error event), false when we disconnected. */
  completed: boolean;
  body?: any;
}

/**
 * Reads an SSE response the way the web client does (`id:`, `event:`, `data:` lines), optionally
 * disconnecting once `disconnectWhen` says so.
 */
export async function requestSse(
  url: string,
  options: { method?: 'GET' | 'POST'; token: string; body?: unknown; lastEventId?: string; disconnectWhen?: (event: SseEvent, events: SseEvent[]) => boolean; timeoutMs?: number },
): Promise<SseResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 60_000);
  const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'text/event-stream' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  const events: SseEvent[] = [];
  try {
    const response = await fetch(url, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: controller.signal });
    if (!response.headers.get('content-type')?.includes('text/event-stream')) {
      const text = await response.text();
      return { status: response.status, headers: response.headers, events, completed: false, body: text ? JSON.parse(text) : undefined };
    }
    let completed = false;
    try {
      completed =
        (await readSse(response, (event) => {
          events.push(event);
          if (!options.disconnectWhen?.(event, events)) return false;
          controller.abort();
          return true;
        })) === 'ended';
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    return { status: response.status, headers: response.headers, events, completed };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads an SSE response as the web client parses it (`id:`, `event:`, `data:` lines, comments skipped), calling `onEvent` per event; `onEvent` returning true stops reading. */
export async function readSse(response: Response, onEvent: (event: SseEvent) => boolean): Promise<'ended' | 'stopped'> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      buffer += value;
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const event: SseEvent = { event: 'message', data: undefined };
        const dataLines: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [field, ...rest] = line.split(':');
          const fieldValue = rest.join(':').replace(/^ /, '');
          if (field === 'id') event.id = fieldValue;
          else if (field === 'event') event.event = fieldValue;
          else if (field === 'data') dataLines.push(fieldValue);
        }
        if (dataLines.length === 0) continue;
        event.data = JSON.parse(dataLines.join('\n'));
        if (onEvent(event)) return 'stopped';
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The reply text carried by a list of events (the web client's concatenation of deltas). */
export function deltaText(events: SseEvent[]): string {
  return events
    .filter((event) => event.data?.event === 'on_message_delta')
    .flatMap((event) => event.data.data.delta.content)
    .map((part: { text?: string }) => part.text ?? '')
    .join('');
}

export function finalEvent(events: SseEvent[]): SseEvent | undefined {
  return events.find((event) => event.data?.final === true);
}
