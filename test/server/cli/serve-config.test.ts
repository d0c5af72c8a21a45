import { ConfigError } from '@pixels/server/cli/option-reader.ts';
import { parseServeConfig, SERVE_USAGE } from '@pixels/server/cli/serve-config.ts';
import { checkExposure, ExposureError, isLoopbackHost } from '@pixels/server/http/exposure.ts';
import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import { describe, expect, it } from 'vitest';

const parse = (argv: string[], env: Record<string, string> = {}) => parseServeConfig(argv, env, '/repo/models');

describe('pixels serve configuration', () => {
  it('defaults to loopback, port 8787, one auto device and the shared limits', () => {
    expect(parse([])).toEqual({
      host: '127.0.0.1',
      port: 8787,
      modelsDir: '/repo/models',
      tokensFile: undefined,
      devices: ['auto'],
      devicesFallback: false,
      insecure: false,
      tls: undefined,
      limits: DEFAULT_SERVER_LIMITS,
      retentionMs: 60 * 60_000,
      shutdownMs: 30_000,
      workerNice: 10,
      logLevel: 'info',
    });
  });

  it('reads flags first, then environment variables', () => {
    const config = parse(['--port', '9000', '--devices', 'cuda:0,cuda:1', '--max-queued-per-user', '3'], {
      PIXELS_PORT: '1234',
      PIXELS_HOST: '0.0.0.0',
      PIXELS_INSECURE: '1',
      PIXELS_RETENTION_MINUTES: '5',
      PIXELS_TLS_CERT: '/c.pem',
      PIXELS_TLS_KEY: '/k.pem',
    })!;
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      devices: ['cuda:0', 'cuda:1'],
      insecure: true,
      retentionMs: 5 * 60_000,
      tls: { certFile: '/c.pem', keyFile: '/k.pem' },
    });
    expect(config.limits.maxQueuedPerUser).toBe(3);
  });

  it('returns undefined for --help, whose text lists every flag with its variable', () => {
    expect(parse(['--help'])).toBeUndefined();
    for (const text of [
      '--tokens-file',
      'PIXELS_TOKENS_FILE',
      '--tls-cert',
      '--max-pixels',
      '--retention-minutes',
      '--devices',
    ]) {
      expect(SERVE_USAGE).toContain(text);
    }
  });

  it('refuses bad values, naming the flag and what it takes', () => {
    const refusal = (argv: string[], env: Record<string, string> = {}) => {
      try {
        parse(argv, env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('no refusal');
    };
    expect(refusal(['--port', 'eighty'])).toBe(
      "--port (PIXELS_PORT) must be a whole number from 0 to 65535, not 'eighty'.",
    );
    expect(refusal([], { PIXELS_MAX_STEPS: '500' })).toContain(
      '--max-steps (PIXELS_MAX_STEPS) must be a whole number from 1 to 150',
    );
    expect(refusal(['--devices', 'cpu,gpu'])).toBe(
      "--devices takes a comma-separated list of cpu, cuda:N (N = the GPU index, as nvidia-smi numbers them), webgpu, auto, one worker each (e.g. cuda:0,cuda:1); 'gpu' is not one.",
    );
    expect(refusal(['--devices', 'cuda:x'])).toContain("'cuda:x' is not one.");
    expect(refusal(['--devices', 'cuda,cuda'])).toBe(
      "--devices 'cuda,cuda': name each GPU by its index, e.g. cuda:0,cuda:1 for one worker per GPU (cuda:0,cuda:0 puts two workers on GPU 0).",
    );
    expect(refusal(['--max-pixels', String(8192 * 8192 + 1)])).toBe(
      `--max-pixels (PIXELS_MAX_PIXELS) must be a whole number from 4096 to ${8192 * 8192}, not '${8192 * 8192 + 1}'.`,
    );
    expect(parse(['--max-pixels', String(8192 * 8192)])?.limits.maxPixels).toBe(8192 * 8192);
    expect(refusal(['--tls-cert', '/c.pem'])).toBe(
      '--tls-cert and --tls-key go together: give both to serve https, or neither.',
    );
    expect(refusal(['--log-level', 'loud'])).toContain('--log-level must be one of debug, info, warn, error');
    expect(refusal([], { PIXELS_INSECURE: 'maybe' })).toBe("PIXELS_INSECURE must be 1/true or 0/false, not 'maybe'.");
    expect(refusal(['--prot', '80'])).toMatch(/Unknown option '--prot'.*pixels serve --help/);
  });
});

describe('exposure', () => {
  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'pixels.example.com', '128.0.0.1'])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it('lets loopback run open, refuses an exposed address without tokens unless --insecure, and warns about plain http', () => {
    expect(checkExposure({ host: '127.0.0.1', tokenCount: 0, insecure: false, tls: false })).toEqual([]);
    expect(() => checkExposure({ host: '0.0.0.0', tokenCount: 0, insecure: false, tls: true })).toThrow(ExposureError);
    expect(() => checkExposure({ host: '0.0.0.0', tokenCount: 0, insecure: false, tls: true })).toThrow(
      /Refusing to listen on 0\.0\.0\.0 without tokens.*--tokens-file.*--insecure/,
    );
    expect(checkExposure({ host: '0.0.0.0', tokenCount: 0, insecure: true, tls: true })).toEqual([
      '--insecure: listening on 0.0.0.0 without tokens; anyone who can reach it can submit and read jobs.',
    ]);
    expect(checkExposure({ host: '10.0.0.2', tokenCount: 3, insecure: false, tls: false })[0]).toContain(
      'Serving plain http on 10.0.0.2',
    );
    expect(checkExposure({ host: '10.0.0.2', tokenCount: 3, insecure: false, tls: true })).toEqual([]);
  });
});

describe('pixels serve on Redis', () => {
  it('runs as an API node with --redis, with no workers of its own unless --local-workers says so', () => {
    expect(parse(['--redis', 'redis://127.0.0.1:6379'])?.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      localWorkers: 0,
    });
    expect(parse(['--local-workers', '2'], { PIXELS_REDIS_URL: 'redis://redis.internal:6380/1' })?.redis).toEqual({
      url: 'redis://redis.internal:6380/1',
      localWorkers: 2,
    });
    expect(parse([])?.redis).toBeUndefined();
  });

  it('refuses --local-workers without --redis and a --redis that is not a redis URL', () => {
    expect(() => parse(['--local-workers', '1'])).toThrow(
      new ConfigError(
        '--local-workers runs workers on Redis: give --redis too (without it every --devices entry is a worker).',
      ),
    );
    expect(() => parse(['--redis', 'localhost:6379'])).toThrow(
      "--redis (PIXELS_REDIS_URL) must be a URL like redis://127.0.0.1:6379, not 'localhost:6379'.",
    );
  });
});
