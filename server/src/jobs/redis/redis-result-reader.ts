import type { Redis } from 'ioredis';
import type { ResultReader, StoredResult } from '../result-store.ts';

const CHUNK_BYTES = 256 * 1024;

/**
 * Downloads of results kept in Redis (`file` is the result's key): read in chunks as the client
 * takes them (GETRANGE), so a slow client holds one chunk, not the whole PNG.
 */
export class RedisResultReader implements ResultReader {
  constructor(private readonly redis: Redis) {}

  async openStream(result: StoredResult): Promise<ReadableStream<Uint8Array>> {
    const key = result.file;
    if ((await this.redis.exists(key)) === 0) throw new Error('the result expired or was deleted');
    const redis = this.redis;
    let position = 0;
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (position >= result.bytes) {
            controller.close();
            return;
          }
          const end = Math.min(result.bytes, position + CHUNK_BYTES) - 1;
          const chunk = await redis.getrangeBuffer(key, position, end);
          if (chunk.length === 0) {
            controller.error(new Error('the result was deleted while it was downloaded'));
            return;
          }
          position += chunk.length;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        },
      },
      { highWaterMark: 1 },
    );
  }
}
