import { connect } from 'node:net';

export interface RawAnswer {
  /** The response's status line and headers, lower-cased names. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Body bytes the socket accepted before the server closed it. */
  bytesSent: number;
  /** Whether the server closed the connection (rather than the time or byte bound ending the send). */
  closedByServer: boolean;
}

/**
 * Sends a request over a plain socket, the body as `chunk` repeated up to `bodyBytes` bytes (or the
 * given body), and reads the answer until the server closes the connection or `timeoutMs` passes.
 * fetch cannot show what this must: how much of a refused body the server took, and whether it
 * closed the connection.
 */
export function rawRequest(
  port: number,
  head: string,
  body: { bytes: Uint8Array } | { chunk: Uint8Array; bodyBytes: number },
  timeoutMs = 15_000,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let bytesSent = 0;
    let closed = false;
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (byServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const [headText = '', ...rest] = response.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = headText.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const at = line.indexOf(':');
        if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      if (!status) return reject(new Error(`no HTTP answer (got ${JSON.stringify(response.slice(0, 200))})`));
      resolve({ status, headers, body: rest.join('\r\n\r\n'), bytesSent, closedByServer: byServer });
    };
    socket.on('data', (data) => {
      response += data.toString('latin1');
    });
    socket.on('error', () => {}); // EPIPE / ECONNRESET once the server closed: the close event follows
    socket.on('close', () => {
      if (!closed) {
        closed = true;
        finish(true);
      }
    });
    socket.on('connect', async () => {
      socket.write(head);
      const send = async (bytes: Uint8Array) => {
        if (socket.destroyed) return false;
        const accepted = socket.write(bytes);
        bytesSent += bytes.length;
        if (!accepted) {
          await new Promise<void>((wake) => {
            socket.once('drain', wake);
            socket.once('close', wake);
          });
        }
        return !socket.destroyed;
      };
      if ('bytes' in body) {
        for (let offset = 0; offset < body.bytes.length; offset += 1 << 20) {
          if (!(await send(body.bytes.subarray(offset, offset + (1 << 20))))) return;
        }
      } else {
        while (bytesSent < body.bodyBytes) if (!(await send(body.chunk))) return;
      }
    });
  });
}

/** The request line and headers of a POST /v1/edits. */
export function postHead(headers: Record<string, string>): string {
  return `POST /v1/edits HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}
