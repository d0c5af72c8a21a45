import { jobEventStream, readLastEventId } from '@pixels/server/http/job-event-stream.ts';
import { JobRecord } from '@pixels/server/jobs/job-record.ts';
import { EditSettings } from '@pixels/shared';
import { describe, expect, it } from 'vitest';

function newJob(): JobRecord {
  return new JobRecord(
    'AAAAAAAAAAAAAAAAAAAAAA',
    'ana',
    EditSettings.parse({}),
    { source: new Uint8Array(), exemplars: [] },
    Date.now(),
  );
}

async function readUntil(reader: ReadableStreamDefaultReader<string>, text: string): Promise<string> {
  let seen = '';
  while (!seen.includes(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before '${text}'; got: ${seen}`);
    seen += value;
  }
  return seen;
}

describe('job event stream', () => {
  it('sends the kept events, then live ones, keeps the connection alive, and ends after the final event', async () => {
    const job = newJob();
    job.events.append({ type: 'queued', position: 2 });
    let closed = 0;
    const response = jobEventStream(job, 0, { heartbeatMs: 10, onClose: () => closed++ });
    expect(response.headers.get('Content-Type')).toBe('text/event-stream; charset=utf-8');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect(await readUntil(reader, 'position":2}')).toContain(
      'retry: 1000\n\nid: 1\nevent: queued\ndata: {"type":"queued","position":2}\n\n',
    );
    await readUntil(reader, ': keep-alive\n\n');
    job.events.append({ type: 'canceled', reason: 'owner' });
    expect(await readUntil(reader, 'canceled')).toContain(
      'id: 2\nevent: canceled\ndata: {"type":"canceled","reason":"owner"}',
    );
    expect((await reader.read()).done).toBe(true);
    expect(closed).toBe(1);
    expect(job.events.subscriberCount).toBe(0);
  });

  it('stops listening when the client goes away', async () => {
    const job = newJob();
    let closed = 0;
    const response = jobEventStream(job, 0, { onClose: () => closed++ });
    expect(job.events.subscriberCount).toBe(1);
    await response.body!.cancel();
    expect(job.events.subscriberCount).toBe(0);
    expect(closed).toBe(1);
    job.events.append({ type: 'canceled', reason: 'owner' });
    expect(closed).toBe(1);
  });

  it('reads Last-Event-ID from the header or the query, and refuses anything but a whole number', () => {
    expect(readLastEventId(undefined, undefined)).toBe(0);
    expect(readLastEventId('7', '3')).toBe(7);
    expect(readLastEventId(undefined, '3')).toBe(3);
    expect(() => readLastEventId('-1', undefined)).toThrow(
      "Last-Event-ID must be the id of an event this stream sent (a whole number), not '-1'.",
    );
    expect(() => readLastEventId(undefined, '1e9')).toThrow(/not '1e9'/);
  });
});
