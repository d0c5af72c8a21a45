import { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from './redis-server.ts';

function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    socket.once('error', reject);
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.connect(port, '127.0.0.1', () => socket.write(`${line}\r\n`));
  });
}

describe('the test Redis', () => {
  let redis: TestRedis | undefined;
  afterAll(async () => {
    await redis?.stop({ hard: true });
  });

  it('keeps what was written across a restart, from its append-only file', async () => {
    redis = await startTestRedis();
    expect(await command(redis.port, 'SET pixels:probe kept')).toBe('+OK\r\n');
    expect(await command(redis.port, 'CONFIG GET appendonly')).toContain('yes');
    await redis.stop();
    await redis.start();
    expect(await command(redis.port, 'GET pixels:probe')).toBe('$4\r\nkept\r\n');
  });
});
