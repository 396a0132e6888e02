/**
 * Reading a durachat SSE response in the benchmarks (the web client's parsing: `id:`, `event:`, `data:`
 * lines, comments skipped), one parsed event at a time.
 */
export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** Reads an SSE response, calling `onEvent` per event; `onEvent` returning true stops reading. */
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
