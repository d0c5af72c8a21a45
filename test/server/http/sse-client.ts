import { JobEvent } from '@pixels/shared';

/** One parsed server-sent event, its data checked against the shared JobEvent schema. */
export interface ReceivedEvent {
  id: number;
  event: JobEvent;
}

/**
 * Reads a text/event-stream response the way the plugin does (fetch, since EventSource cannot send
 * an Authorization header). Stops when the stream ends, or when `stopAfter` returns true, in
 * which case the connection is dropped (the reader is canceled) as a closing plugin would.
 */
export async function readEventStream(
  response: Response,
  stopAfter: (event: ReceivedEvent) => boolean = () => false,
): Promise<ReceivedEvent[]> {
  if (!response.body) throw new Error('the event stream has no body');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const received: ReceivedEvent[] = [];
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return received;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
      }
      if (!fields.has('data')) continue;
      const event = JobEvent.parse(JSON.parse(fields.get('data')!));
      if (fields.get('event') !== event.type)
        throw new Error(`SSE event field ${fields.get('event')} != data type ${event.type}`);
      const entry = { id: Number(fields.get('id')), event };
      received.push(entry);
      if (stopAfter(entry)) {
        await reader.cancel();
        return received;
      }
    }
  }
}
