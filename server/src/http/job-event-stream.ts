import { PixelsError } from '@pixels/shared';
import type { SequencedEvent } from '../jobs/job-event-log.ts';
import type { JobRecord } from '../jobs/job-record.ts';

export interface EventStreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream. Default 15 s. */
  heartbeatMs?: number;
  /** Told when the stream ends, however it ends (for counting open streams). */
  onClose?: () => void;
}

const encoder = new TextEncoder();

/** One event in the text/event-stream format: `id` is what a client resumes from. */
function frame(entry: SequencedEvent): Uint8Array {
  return encoder.encode(`id: ${entry.id}\nevent: ${entry.event.type}\ndata: ${JSON.stringify(entry.event)}\n\n`);
}

/**
 * Reads where a resuming client left off: the `Last-Event-ID` header (sent by EventSource and by
 * fetch clients that track it) or a `lastEventId` query parameter (handy with curl). 0 = start.
 */
export function readLastEventId(header: string | undefined, query: string | undefined): number {
  const value = header ?? query;
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,9}$/.test(value)) {
    throw new PixelsError(
      'bad_request',
      `Last-Event-ID must be the id of an event this stream sent (a whole number), not '${value.slice(0, 40)}'.`,
      'Last-Event-ID',
    );
  }
  return Number(value);
}

/**
 * A job's events as server-sent events: first those after `lastEventId` still kept (the latest
 * position and progress, never a replay of every step), then live ones; the stream ends after the
 * job's final event. A client that drops resumes with the last id it saw and misses nothing that
 * matters.
 */
export function jobEventStream(job: JobRecord, lastEventId: number, options: EventStreamOptions = {}): Response {
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let stopped = false;
      let unsubscribe = () => {};
      let heartbeat: NodeJS.Timeout | undefined;
      stop = () => {
        if (stopped) return;
        stopped = true;
        unsubscribe();
        clearInterval(heartbeat);
        options.onClose?.();
      };
      // Reconnect quickly after a drop: the job's events are kept, so nothing is lost meanwhile.
      controller.enqueue(encoder.encode('retry: 1000\n\n'));
      for (const entry of job.events.since(lastEventId)) controller.enqueue(frame(entry));
      if (job.events.isFinished) {
        stop();
        controller.close();
        return;
      }
      unsubscribe = job.events.subscribe((entry) => {
        controller.enqueue(frame(entry));
        if (!job.events.isFinished) return;
        stop();
        controller.close();
      });
      heartbeat = setInterval(
        () => controller.enqueue(encoder.encode(': keep-alive\n\n')),
        options.heartbeatMs ?? 15_000,
      );
      heartbeat.unref();
    },
    cancel() {
      // The client went away: stop listening; the job itself runs on.
      stop();
    },
  });
  return new Response(body, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // Reverse proxies (nginx, some Caddy setups) would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    },
  });
}
