import { describe, expect, it } from 'vitest';
import { type ServerSentEvent, SseParser } from '../../../../plugin/src/ui/api/sse-parser.ts';

function parse(chunks: string[]): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

describe('SseParser', () => {
  it('reads typed events with ids, skipping comments', () => {
    expect(parse([': hello\n\nid: 1\nevent: queued\ndata: {"position":2}\n\n'])).toEqual([
      { event: 'queued', data: '{"position":2}', lastEventId: '1' },
    ]);
  });

  it('joins data lines, accepts CRLF and CR, and defaults the type to message', () => {
    expect(parse(['data: a\r\ndata: b\r\n\r\ndata:c\r\r\n'])).toEqual([
      { event: 'message', data: 'a\nb', lastEventId: '' },
      { event: 'message', data: 'c', lastEventId: '' },
    ]);
  });

  it('handles events split at any byte, including between CR and LF', () => {
    const stream = 'id: 7\nevent: step\ndata: {"step":3}\r\n\r\nevent: done\ndata: {}\n\n';
    const whole = parse([stream]);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)])).toEqual(whole);
    }
    expect(whole.map((event) => [event.event, event.lastEventId])).toEqual([
      ['step', '7'],
      ['done', '7'],
    ]);
  });

  it('does not dispatch an event without data or an unfinished one', () => {
    expect(parse(['event: ping\n\n', 'data: half'])).toEqual([]);
  });
});
