import { hostname } from 'node:os';
import { DEVICE_SPELLINGS, type DeviceSpec, parseDeviceSpec } from '../models/devices.ts';
import { LOG_LEVELS, type LogLevel } from '../observability/logger.ts';
import { ConfigError, checkRedisUrl, type OptionSpec, readOptions } from './option-reader.ts';

/** Everything `pixels worker` is told by flags and environment variables. */
export interface WorkerConfig {
  redisUrl: string;
  device: DeviceSpec;
  modelsDir: string;
  name: string;
  retentionMs: number;
  shutdownMs: number;
  maxWorkerHeapMb: number;
  logLevel: LogLevel;
}

const OPTIONS: Record<string, OptionSpec> = {
  redis: { type: 'string', env: 'PIXELS_REDIS_URL', help: 'redis://host:port of the team server (required)' },
  device: {
    type: 'string',
    env: 'PIXELS_DEVICE',
    fallback: 'auto',
    help: `the device this worker runs edits on: ${DEVICE_SPELLINGS} (one worker process per GPU)`,
  },
  models: {
    type: 'string',
    env: 'PIXELS_MODELS_DIR',
    help: 'folder of installed models (the built-in model needs none); default <repo>/models',
  },
  name: {
    type: 'string',
    env: 'PIXELS_WORKER_NAME',
    help: 'the name GET /v1/workers lists (unique per Redis); default <host>-<device>-<pid>',
  },
  'retention-minutes': {
    type: 'string',
    env: 'PIXELS_RETENTION_MINUTES',
    fallback: '60',
    help: 'how long results are kept (give the API nodes the same)',
  },
  'shutdown-seconds': {
    type: 'string',
    env: 'PIXELS_SHUTDOWN_SECONDS',
    fallback: '30',
    help: 'on SIGINT/SIGTERM, the job in hand may finish this long; then it goes back to the queue',
  },
  'max-worker-heap-mb': {
    type: 'string',
    env: 'PIXELS_MAX_WORKER_HEAP_MB',
    fallback: '4096',
    help: 'JavaScript heap of the edit thread; over it the thread dies out of memory and is replaced',
  },
  'log-level': { type: 'string', env: 'PIXELS_LOG_LEVEL', fallback: 'info', help: LOG_LEVELS.join(' | ') },
};

export const WORKER_USAGE = `usage: pixels worker --redis URL [options]

Runs edits for a team server on Redis (pixels serve --redis URL), one at a time, on one device;
takes jobs only for the models installed here. JSON logs on stdout.

${Object.entries(OPTIONS)
  .map(([name, spec]) => {
    const fallback = spec.fallback ? ` (default ${spec.fallback})` : '';
    return `  ${`--${name} <value>`.padEnd(30)} ${spec.help}${fallback}  [${spec.env}]`;
  })
  .join('\n')}
  --help                         show this help`;

/** Reads flags, then environment variables, then defaults; `undefined` means --help was asked for. */
export function parseWorkerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaultModelsDir: string,
): WorkerConfig | undefined {
  const options = readOptions('pixels worker', OPTIONS, argv, env);
  if (!options) return undefined;
  const { text, integer } = options;
  const redisUrl = text('redis');
  if (redisUrl === undefined) {
    throw new ConfigError('--redis is required: the redis://host:port the team server (pixels serve --redis) uses.');
  }
  checkRedisUrl(redisUrl);
  const deviceText = text('device')!;
  const device = parseDeviceSpec(deviceText);
  if (!device) throw new ConfigError(`--device takes one of ${DEVICE_SPELLINGS}, not '${deviceText}'.`);
  const logLevel = text('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not '${logLevel}'.`);
  }
  return {
    redisUrl,
    device,
    modelsDir: text('models') ?? defaultModelsDir,
    name: text('name') ?? `${hostname()}-${deviceText.replace(/[^A-Za-z0-9]/g, '')}-${process.pid}`,
    retentionMs: integer('retention-minutes', 1, 7 * 24 * 60) * 60_000,
    shutdownMs: integer('shutdown-seconds', 0, 3600) * 1000,
    maxWorkerHeapMb: integer('max-worker-heap-mb', 64, 1 << 20),
    logLevel,
  };
}
