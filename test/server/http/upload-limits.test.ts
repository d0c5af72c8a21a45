import { ErrorBody } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, editForm } from './app-harness.ts';
import { type LiveServer, startLiveServer } from './live-server.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { postHead, rawRequest } from './raw-http.ts';

const MIB = 1024 * 1024;
const BOUNDARY = 'b';

/** The hostile body of the probe: a million empty file parts (71 MB with these headers). */
export function millionPartBody(parts = 1_000_000): Uint8Array {
  const part = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="exemplar"; filename="e"\r\n\r\n\r\n`;
  return new Uint8Array(Buffer.from(`${part.repeat(parts)}--${BOUNDARY}--\r\n`, 'latin1'));
}

let live: LiveServer;
beforeAll(async () => {
  live = await startLiveServer({ limits: { maxBodyBytes: 200 * MIB } });
});
afterAll(async () => {
  await live?.stop();
});

const errorOf = (body: string) => ErrorBody.parse(JSON.parse(body)).error;

describe('uploads the server refuses without reading them', () => {
  it('answers a request without a token 401 before its body, closes the connection, and drains nothing', async () => {
    const answer = await rawRequest(
      live.server.port,
      postHead({ 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(200 * MIB) }),
      { chunk: new Uint8Array(MIB), bodyBytes: 200 * MIB },
    );
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).toBe('close');
    expect(errorOf(answer.body).code).toBe('unauthorized');
    expect(answer.closedByServer).toBe(true);
    // What the socket buffers took before the close, not the 200 MiB the client meant to send.
    expect(answer.bytesSent).toBeLessThan(32 * MIB);
  });

  it('stops reading a million-part body at the part limit, answers 413 and closes the connection', async () => {
    const body = millionPartBody();
    const answer = await rawRequest(
      live.server.port,
      postHead({
        ...bearer('ana'),
        'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
        'Content-Length': String(body.length),
      }),
      { bytes: body },
    );
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(errorOf(answer.body)).toMatchObject({ code: 'payload_too_large' });
    expect(errorOf(answer.body).message).toMatch(/more than \d+ parts/);
    expect(answer.closedByServer).toBe(true);
    expect(answer.bytesSent).toBeLessThan(body.length / 2);
    expect((await live.fetch('/healthz')).status).toBe(200);
  });

  it('refuses a chunked body over the total size once it passes the limit, without reading on', async () => {
    const small = await startLiveServer({ limits: { maxBodyBytes: 4 * MIB } });
    try {
      const answer = await rawRequest(
        small.server.port,
        postHead({
          ...bearer('ana'),
          'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
          'Transfer-Encoding': 'chunked',
        }),
        // 1 MiB chunks, each framed with its size line, up to 100 MiB.
        {
          chunk: new Uint8Array(
            Buffer.concat([Buffer.from(`${MIB.toString(16)}\r\n`), Buffer.alloc(MIB), Buffer.from('\r\n')]),
          ),
          bodyBytes: 100 * MIB,
        },
      );
      expect(answer.status).toBe(413);
      expect(answer.headers.connection).toBe('close');
      expect(answer.bytesSent).toBeLessThan(40 * MIB);
    } finally {
      await small.stop();
    }
  });

  it('still takes a good edit on a fresh connection afterwards', async () => {
    const job = await live.submit(
      'ana',
      editForm({ settings: { steps: 2, strength: 0.5 }, source: gradientPng(), exemplars: [discPng()] }),
    );
    expect(job.state).toBe('queued');
  });
});
