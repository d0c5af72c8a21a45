import type { Redis } from 'ioredis';
import type { ResultReader, StoredResult } from '../result-store.ts';

const CHUNK_BYTES = 256 * 1024;

/**
 * Downloads of results kept in Redis (`file` is the result's key): read in chunks as the client
 * takes them (GETRANGE), so a slow client holds one chunk, not the whole PNG.
 */
export class RedisResultReader implements ResultReader {
  constructor(private readonly redis: Redis) {}

  async openStream(
    result: StoredResult,
    onEnd: (completed: boolean) => void = () => {},
  ): Promise<ReadableStream<Uint8Array>> {
    const key = result.file;
    if ((await this.redis.exists(key)) === 0) throw new Error('the result expired or was deleted');
    const redis = this.redis;
    let position = 0;
    let ended = false;
    const end = (completed: boolean) => {
      if (!ended) onEnd(completed);
      ended = true;
    };
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (position >= result.bytes) {
            end(true);
            controller.close();
            return;
          }
          const last = Math.min(result.bytes, position + CHUNK_BYTES) - 1;
          const chunk = await redis.getrangeBuffer(key, position, last).catch((error: unknown) => {
            end(false);
            throw error;
          });
          if (chunk.length === 0) {
            end(false);
            controller.error(new Error('the result was deleted while it was downloaded'));
            return;
          }
          position += chunk.length;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        },
        cancel: () => end(false),
      },
      { highWaterMark: 1 },
    );
  }
}
