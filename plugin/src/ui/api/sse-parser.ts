/** One server-sent event (WHATWG HTML, "Server-sent events", event stream interpretation). */
export interface ServerSentEvent {
  /** The `event:` field; 'message' when absent. */
  event: string;
  data: string;
  /** The last `id:` seen so far on the stream, to resume from with Last-Event-ID. */
  lastEventId: string;
}

/**
 * An incremental parser for `text/event-stream`: feed it decoded text in chunks of any size and it
 * calls `onEvent` for every complete event. Fetch is used instead of EventSource because
 * EventSource cannot send the Authorization header.
 */
export class SseParser {
  private buffer = '';
  private eventType = '';
  private dataLines: string[] = [];
  private lastEventId = '';

  constructor(private readonly onEvent: (event: ServerSentEvent) => void) {}

  push(text: string): void {
    this.buffer += text;
    let lineEnd = this.findLineEnd();
    while (lineEnd) {
      const line = this.buffer.slice(0, lineEnd.index);
      this.buffer = this.buffer.slice(lineEnd.index + lineEnd.length);
      this.processLine(line);
      lineEnd = this.findLineEnd();
    }
  }

  /** A line ends at CRLF, LF or CR; a CR at the very end may still be followed by LF. */
  private findLineEnd(): { index: number; length: number } | undefined {
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char === '\n') return { index: i, length: 1 };
      if (char === '\r') {
        if (i + 1 === this.buffer.length) return undefined;
        return { index: i, length: this.buffer[i + 1] === '\n' ? 2 : 1 };
      }
    }
    return undefined;
  }

  private processLine(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
    }
  }

  private dispatch(): void {
    if (this.dataLines.length > 0) {
      this.onEvent({
        event: this.eventType || 'message',
        data: this.dataLines.join('\n'),
        lastEventId: this.lastEventId,
      });
    }
    this.eventType = '';
    this.dataLines = [];
  }
}
