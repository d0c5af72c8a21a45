import { ConfigError } from '@pixels/server/cli/option-reader.ts';
import { parseWorkerConfig, WORKER_USAGE } from '@pixels/server/cli/worker-config.ts';
import { describe, expect, it } from 'vitest';

const parse = (argv: string[], env: Record<string, string> = {}) => parseWorkerConfig(argv, env, '/repo/models');

describe('pixels worker configuration', () => {
  it('takes the Redis URL, one device, the models folder and a name', () => {
    expect(
      parse([
        '--redis',
        'redis://10.0.0.5:6379',
        '--device',
        'cuda:1',
        '--models',
        '/srv/models',
        '--name',
        'gpu-box-1',
      ]),
    ).toEqual({
      redisUrl: 'redis://10.0.0.5:6379',
      device: 'cuda:1',
      modelsDir: '/srv/models',
      name: 'gpu-box-1',
      retentionMs: 60 * 60_000,
      shutdownMs: 30_000,
      maxWorkerHeapMb: 4096,
      logLevel: 'info',
    });
    const fromEnv = parse([], { PIXELS_REDIS_URL: 'redis://127.0.0.1:6379', PIXELS_DEVICE: 'cpu' });
    expect(fromEnv).toMatchObject({ device: 'cpu', modelsDir: '/repo/models' });
    expect(fromEnv?.name).toMatch(/-cpu-\d+$/);
  });

  it('needs --redis, and refuses a device it does not know', () => {
    expect(() => parse([])).toThrow(
      new ConfigError('--redis is required: the redis://host:port the team server (pixels serve --redis) uses.'),
    );
    expect(() => parse(['--redis', 'redis://127.0.0.1:6379', '--device', 'tpu'])).toThrow(
      /--device takes one of .*not 'tpu'/,
    );
    expect(parse(['--help'])).toBeUndefined();
    expect(WORKER_USAGE).toContain('--device <value>');
  });
});
