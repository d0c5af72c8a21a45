import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FileDownload } from '@pixels/server/jobs/file-download.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** 3.3 MiB: several of the download's chunks, the last one partial. */
const content = randomBytes(3 * 1024 * 1024 + 333_333);
let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pixels-file-download-'));
  file = join(dir, 'result.png');
  await writeFile(file, content);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A download of the file, with its `onEnd` calls and whether its file handle was closed. */
async function openDownload() {
  const handle = await open(file, 'r');
  const ends: boolean[] = [];
  const download = new FileDownload(handle, (completed) => ends.push(completed));
  return { download, ends, isClosed: () => handle.fd === -1 };
}

/**
 * A slow socket: it keeps each chunk it is given (as a socket keeps the buffer until the kernel has
 * taken it) and copies it only when it completes the write, a few ms later. A chunk whose buffer
 * was refilled before its write completed arrives changed.
 */
function slowSink(options: { failAfterBytes?: number } = {}) {
  const received: Buffer[] = [];
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, done) {
      setTimeout(() => {
        received.push(Buffer.from(chunk));
        bytes += chunk.length;
        if (options.failAfterBytes !== undefined && bytes >= options.failAfterBytes) sink.destroy();
        done();
      }, 3);
    },
  });
  return { sink, received: () => Buffer.concat(received) };
}

describe('a download of a stored file', () => {
  it('writes the whole file to a slow socket, reusing a buffer only after its write completed', async () => {
    const { download, ends, isClosed } = await openDownload();
    const { sink, received } = slowSink();
    const finished = new Promise((resolve) => sink.once('finish', resolve));
    expect(FileDownload.of(download.stream)).toBe(download);
    expect(await download.writeTo(sink)).toBe(true);
    await finished;
    expect(received().equals(content)).toBe(true);
    expect(ends).toEqual([true]);
    expect(isClosed()).toBe(true);
    // Written once: its stream is no longer offered to the listener.
    expect(FileDownload.of(download.stream)).toBeUndefined();
  });

  it('stops, reports an unfinished download once and closes the file when the client goes away', async () => {
    const { download, ends, isClosed } = await openDownload();
    const { sink, received } = slowSink({ failAfterBytes: 1024 * 1024 });
    expect(await download.writeTo(sink)).toBe(false);
    expect(received().length).toBeLessThan(content.length);
    expect(received().equals(content.subarray(0, received().length))).toBe(true);
    expect(ends).toEqual([false]);
    expect(isClosed()).toBe(true);
  });

  it('writes nothing to a client already gone', async () => {
    const { download, ends, isClosed } = await openDownload();
    const { sink, received } = slowSink();
    sink.destroy();
    expect(await download.writeTo(sink)).toBe(false);
    expect(received().length).toBe(0);
    expect(ends).toEqual([false]);
    expect(isClosed()).toBe(true);
  });

  it('reads as a web stream to the same bytes (app.request and other web callers)', async () => {
    const { download, ends, isClosed } = await openDownload();
    const bytes = Buffer.from(await new Response(download.stream).arrayBuffer());
    expect(bytes.equals(content)).toBe(true);
    expect(ends).toEqual([true]);
    expect(isClosed()).toBe(true);
    // Read as a stream: the listener must not write it a second time.
    expect(FileDownload.of(download.stream)).toBeUndefined();
  });

  it('reports a web stream canceled half-way as unfinished and closes the file', async () => {
    const { download, ends, isClosed } = await openDownload();
    const reader = download.stream.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    expect(ends).toEqual([false]);
    expect(isClosed()).toBe(true);
  });
});
