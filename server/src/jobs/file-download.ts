import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/**
 * Bytes read from disk per chunk. A download holds two chunks (one in the socket, one being
 * read), so 8 held downloads keep 4 MiB. Each read is a hand-off to libuv's file-system threads
 * and back, and on a busy machine each hand-off is a chance for the HTTP thread to lose its core:
 * 128 KiB stalled longer; 512 KiB stalled no less and doubles the memory.
 */
const CHUNK_BYTES = 256 * 1024;

/** Downloads whose `stream` has not been read yet, found by their stream (the Response's body). */
const unread = new WeakMap<ReadableStream<Uint8Array>, FileDownload>();

/**
 * One download of a stored file, open until read to its end, failed or abandoned. It is read in
 * one of two ways:
 * - `stream`, a web stream read on demand, which an app returns as the response body
 *   (`app.request` and other web-standard callers read it);
 * - `writeTo`, which the Node listener calls instead (found with `FileDownload.of(body)`): it
 *   writes the file into the socket from two buffers that it reuses, each only after the socket
 *   has taken its last chunk. A web stream gives every chunk a fresh buffer and several promises:
 *   8 clients of one 13.7 MiB result made ~110 MB of short-lived buffers, whose full garbage
 *   collections were the HTTP thread's longest stalls (30-60 ms, few of them on a core), and the
 *   server spent 2-4 times the CPU per download that it does now.
 */
export class FileDownload {
  readonly stream: ReadableStream<Uint8Array>;
  private position = 0;
  private ended = false;

  /** `onEnd` is called once: true when the file was read to its end, false otherwise. */
  constructor(
    private readonly handle: FileHandle,
    private readonly onEnd: (completed: boolean) => void,
  ) {
    // A high-water mark of 0: nothing is read until the stream is (writeTo may read instead).
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          unread.delete(this.stream);
          try {
            const chunk = new Uint8Array(CHUNK_BYTES);
            const bytesRead = await this.read(chunk);
            if (bytesRead === 0) {
              await this.end(true);
              controller.close();
            } else controller.enqueue(chunk.subarray(0, bytesRead));
          } catch (error) {
            await this.end(false);
            controller.error(error);
          }
        },
        cancel: async () => {
          await this.end(false);
        },
      },
      { highWaterMark: 0 },
    );
    unread.set(this.stream, this);
  }

  /** The download whose unread stream this is, if any. */
  static of(body: ReadableStream<Uint8Array> | null): FileDownload | undefined {
    return body ? unread.get(body) : undefined;
  }

  /**
   * Writes the rest of the file to `destination` and ends it; resolves true when all of it went,
   * false when the destination closed first or reading failed (then `destination` is destroyed).
   */
  async writeTo(destination: Writable): Promise<boolean> {
    unread.delete(this.stream);
    if (destination.destroyed) return this.end(false);
    const closed = new Promise<Error>((resolve) =>
      destination.once('close', () => resolve(new Error('the client went away'))),
    );
    const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
    // When each buffer is free again: the socket took its last chunk (the write's callback), not
    // only queued it. Failures resolve too (as the error), so none is left unhandled meanwhile.
    const written: Promise<Error | undefined>[] = [Promise.resolve(undefined), Promise.resolve(undefined)];
    const write = (chunk: Buffer) =>
      new Promise<Error | undefined>((resolve) => destination.write(chunk, (error) => resolve(error ?? undefined)));
    try {
      for (let next = 0; ; next ^= 1) {
        const failed = await Promise.race([written[next], closed]);
        if (failed) throw failed;
        const bytesRead = await this.read(buffers[next]);
        if (bytesRead === 0) break;
        written[next] = write(buffers[next].subarray(0, bytesRead));
      }
      const failed = await Promise.race([Promise.all(written).then((errors) => errors.find(Boolean)), closed]);
      if (failed) throw failed;
      destination.end();
      return await this.end(true);
    } catch (error) {
      destination.destroy(error as Error);
      return await this.end(false);
    }
  }

  private async read(into: Uint8Array): Promise<number> {
    const { bytesRead } = await this.handle.read(into, 0, into.byteLength, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  private async end(completed: boolean): Promise<boolean> {
    if (this.ended) return completed;
    this.ended = true;
    this.onEnd(completed);
    await this.handle.close().catch(() => {}); // a close that fails has nothing left to tell the client
    return completed;
  }
}
