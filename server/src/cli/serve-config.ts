import { DEFAULT_LIMITS, PIXEL_LIMIT_CEILING } from '@pixels/shared';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '../http/server-limits.ts';
import { DEVICE_SPELLINGS, type DeviceSpec, parseDeviceSpec } from '../models/devices.ts';
import { LOG_LEVELS, type LogLevel } from '../observability/logger.ts';
import { ConfigError, checkRedisUrl, type OptionSpec, readOptions } from './option-reader.ts';

/** Everything `pixels serve` is told by flags and environment variables. */
export interface ServeConfig {
  host: string;
  port: number;
  modelsDir: string;
  tokensFile: string | undefined;
  /** One worker per entry (auto: CUDA on GPU 0 when its provider loads, else CPU). */
  devices: DeviceSpec[];
  /** A device that cannot start is dropped with a warning instead of stopping the server. */
  devicesFallback: boolean;
  insecure: boolean;
  tls: { certFile: string; keyFile: string } | undefined;
  limits: ServerLimits;
  retentionMs: number;
  /** Folder for finished results (default: a temporary folder removed on stop). */
  resultsDir: string | undefined;
  shutdownMs: number;
  /** Nice levels the edit worker threads (and the threads they start) run below the HTTP thread. */
  workerNice: number;
  logLevel: LogLevel;
  /**
   * Run as an API node of the Redis engine (jobs, events and results in Redis at `url`), with
   * `localWorkers` in-process workers on the `devices` entries in turn (0: edits run only in
   * `pixels worker` processes). Undefined: the in-process queue.
   */
  redis: { url: string; localWorkers: number } | undefined;
}

const OPTIONS: Record<string, OptionSpec> = {
  host: {
    type: 'string',
    env: 'PIXELS_HOST',
    fallback: '127.0.0.1',
    help: 'address to listen on; any non-loopback address needs tokens (or --insecure)',
  },
  port: { type: 'string', env: 'PIXELS_PORT', fallback: '8787', help: 'TCP port (0 = any free port)' },
  'models-dir': {
    type: 'string',
    env: 'PIXELS_MODELS_DIR',
    help: 'folder of installed models (the built-in model needs none); default <repo>/models',
  },
  'tokens-file': {
    type: 'string',
    env: 'PIXELS_TOKENS_FILE',
    help: 'JSON tokens file (see server/README.md); PIXELS_TOKENS adds name:token[:admin],…',
  },
  devices: {
    type: 'string',
    env: 'PIXELS_DEVICES',
    fallback: 'auto',
    help: `one worker per comma-separated entry: ${DEVICE_SPELLINGS} (cuda = cuda:0), e.g. cuda:0,cuda:1; each is probed at start-up`,
  },
  'devices-fallback': {
    type: 'boolean',
    env: 'PIXELS_DEVICES_FALLBACK',
    help: 'drop a device that cannot start (logged as a warning) and serve on the rest, instead of refusing to start',
  },
  insecure: {
    type: 'boolean',
    env: 'PIXELS_INSECURE',
    help: 'allow a non-loopback address without tokens (anyone who reaches it can use it)',
  },
  'tls-cert': {
    type: 'string',
    env: 'PIXELS_TLS_CERT',
    help: 'PEM certificate file: serve https (Figma needs https off localhost)',
  },
  'tls-key': { type: 'string', env: 'PIXELS_TLS_KEY', help: 'PEM private key file for --tls-cert' },
  'max-body-bytes': {
    type: 'string',
    env: 'PIXELS_MAX_BODY_BYTES',
    fallback: String(DEFAULT_SERVER_LIMITS.maxBodyBytes),
    help: 'bytes per request',
  },
  'max-pixels': {
    type: 'string',
    env: 'PIXELS_MAX_PIXELS',
    fallback: String(DEFAULT_SERVER_LIMITS.maxPixels),
    help: `pixels per image, read from the header (at most ${PIXEL_LIMIT_CEILING}, 8192²)`,
  },
  'max-exemplars': {
    type: 'string',
    env: 'PIXELS_MAX_EXEMPLARS',
    fallback: String(DEFAULT_SERVER_LIMITS.maxExemplars),
    help: 'exemplars per edit',
  },
  'max-steps': {
    type: 'string',
    env: 'PIXELS_MAX_STEPS',
    fallback: String(DEFAULT_SERVER_LIMITS.maxSteps),
    help: `steps per edit (at most ${DEFAULT_LIMITS.maxSteps})`,
  },
  'max-prompt-length': {
    type: 'string',
    env: 'PIXELS_MAX_PROMPT_LENGTH',
    fallback: String(DEFAULT_SERVER_LIMITS.maxPromptLength),
    help: `characters per prompt (at most ${DEFAULT_LIMITS.maxPromptLength})`,
  },
  'max-queued': {
    type: 'string',
    env: 'PIXELS_MAX_QUEUED',
    fallback: String(DEFAULT_SERVER_LIMITS.maxQueued),
    help: 'jobs waiting, all users together (429 beyond)',
  },
  'max-queued-per-user': {
    type: 'string',
    env: 'PIXELS_MAX_QUEUED_PER_USER',
    fallback: String(DEFAULT_SERVER_LIMITS.maxQueuedPerUser),
    help: 'jobs one token may have queued or running (429 beyond)',
  },
  'max-queued-input-bytes': {
    type: 'string',
    env: 'PIXELS_MAX_QUEUED_INPUT_BYTES',
    fallback: String(DEFAULT_SERVER_LIMITS.maxQueuedInputBytes),
    help: 'bytes of input images held by queued and running jobs, all users (429 beyond)',
  },
  'max-queued-input-bytes-per-user': {
    type: 'string',
    env: 'PIXELS_MAX_QUEUED_INPUT_BYTES_PER_USER',
    fallback: String(DEFAULT_SERVER_LIMITS.maxQueuedInputBytesPerUser),
    help: 'the same for one token (429 beyond; 413 for one edit over it)',
  },
  'max-result-bytes': {
    type: 'string',
    env: 'PIXELS_MAX_RESULT_BYTES',
    fallback: String(DEFAULT_SERVER_LIMITS.maxResultBytes),
    help: 'bytes of finished results kept on disk, all users (new edits get 429 beyond)',
  },
  'max-result-bytes-per-user': {
    type: 'string',
    env: 'PIXELS_MAX_RESULT_BYTES_PER_USER',
    fallback: String(DEFAULT_SERVER_LIMITS.maxResultBytesPerUser),
    help: 'the same for one token',
  },
  'max-worker-heap-mb': {
    type: 'string',
    env: 'PIXELS_MAX_WORKER_HEAP_MB',
    fallback: String(DEFAULT_SERVER_LIMITS.maxWorkerHeapMb),
    help: 'JavaScript heap of each edit worker thread; over it the thread dies out of memory and is replaced',
  },
  'results-dir': {
    type: 'string',
    env: 'PIXELS_RESULTS_DIR',
    help: 'folder for finished results (default: a temporary folder, removed on stop)',
  },
  'retention-minutes': {
    type: 'string',
    env: 'PIXELS_RETENTION_MINUTES',
    fallback: '60',
    help: 'how long finished jobs and results are kept',
  },
  'shutdown-seconds': {
    type: 'string',
    env: 'PIXELS_SHUTDOWN_SECONDS',
    fallback: '30',
    help: 'on SIGINT/SIGTERM, running jobs may finish this long before they are canceled',
  },
  'worker-nice': {
    type: 'string',
    env: 'PIXELS_WORKER_NICE',
    fallback: '10',
    help: 'nice levels (0-19) the edit worker threads run below the HTTP thread, so requests get a core first while an edit computes; 0 = the same (Linux)',
  },
  'log-level': { type: 'string', env: 'PIXELS_LOG_LEVEL', fallback: 'info', help: LOG_LEVELS.join(' | ') },
  redis: {
    type: 'string',
    env: 'PIXELS_REDIS_URL',
    help: 'redis://host:port: run as an API node; jobs, events and results live in Redis and `pixels worker` processes run the edits',
  },
  'local-workers': {
    type: 'string',
    env: 'PIXELS_LOCAL_WORKERS',
    fallback: '0',
    help: 'with --redis: also run this many workers in this process, on the --devices entries',
  },
  help: { type: 'boolean', env: '', help: 'show this help' },
};

export const SERVE_USAGE = `usage: pixels serve [options]

Starts the team server (JSON logs on stdout). Every option can also be set by its environment variable.

${Object.entries(OPTIONS)
  .map(([name, spec]) => {
    const flag = `--${name}${spec.type === 'string' ? ' <value>' : ''}`;
    const env = spec.env ? `  [${spec.env}]` : '';
    const fallback = spec.fallback ? ` (default ${spec.fallback})` : '';
    return `  ${flag.padEnd(30)} ${spec.help}${fallback}${env}`;
  })
  .join('\n')}`;

/** Reads flags, then environment variables, then defaults; `undefined` means --help was asked for. */
export function parseServeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaultModelsDir: string,
): ServeConfig | undefined {
  const options = readOptions('pixels serve', OPTIONS, argv, env);
  if (!options) return undefined;
  const { text, flag, integer } = options;

  const logLevel = text('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not '${logLevel}'.`);
  const devices = parseDevices(text('devices')!);
  const certFile = text('tls-cert');
  const keyFile = text('tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together: give both to serve https, or neither.');
  }
  const redisUrl = text('redis');
  const localWorkers = integer('local-workers', 0, 64);
  if (redisUrl === undefined && localWorkers > 0) {
    throw new ConfigError(
      '--local-workers runs workers on Redis: give --redis too (without it every --devices entry is a worker).',
    );
  }
  if (redisUrl !== undefined) checkRedisUrl(redisUrl);
  return {
    redis: redisUrl === undefined ? undefined : { url: redisUrl, localWorkers },
    host: text('host')!,
    port: integer('port', 0, 65535),
    modelsDir: text('models-dir') ?? defaultModelsDir,
    tokensFile: text('tokens-file'),
    devices,
    devicesFallback: flag('devices-fallback'),
    insecure: flag('insecure'),
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    limits: {
      maxBodyBytes: integer('max-body-bytes', 1024),
      maxPixels: integer('max-pixels', 64 * 64, PIXEL_LIMIT_CEILING),
      maxExemplars: integer('max-exemplars', 1, 64),
      maxSteps: integer('max-steps', 1, DEFAULT_LIMITS.maxSteps),
      maxPromptLength: integer('max-prompt-length', 0, DEFAULT_LIMITS.maxPromptLength),
      maxQueued: integer('max-queued', 1),
      maxQueuedPerUser: integer('max-queued-per-user', 1),
      maxQueuedInputBytes: integer('max-queued-input-bytes', 1024),
      maxQueuedInputBytesPerUser: integer('max-queued-input-bytes-per-user', 1024),
      maxResultBytes: integer('max-result-bytes', 1024),
      maxResultBytesPerUser: integer('max-result-bytes-per-user', 1024),
      maxWorkerHeapMb: integer('max-worker-heap-mb', 64),
      maxPartHeaderBytes: DEFAULT_SERVER_LIMITS.maxPartHeaderBytes,
      maxSettingsBytes: DEFAULT_SERVER_LIMITS.maxSettingsBytes,
      maxAspectRatio: DEFAULT_SERVER_LIMITS.maxAspectRatio,
      minWorkingSide: DEFAULT_SERVER_LIMITS.minWorkingSide,
    },
    retentionMs: integer('retention-minutes', 1, 7 * 24 * 60) * 60_000,
    resultsDir: text('results-dir'),
    shutdownMs: integer('shutdown-seconds', 0, 3600) * 1000,
    workerNice: integer('worker-nice', 0, 19),
    logLevel,
  };
}

/**
 * `--devices cpu,cuda:0,cuda:1`: one worker per entry. A bare `cuda` is GPU 0; repeated, it is
 * refused, since it once read as "one worker per GPU" and now would put every worker on GPU 0.
 */
function parseDevices(value: string): DeviceSpec[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const unknown = entries.filter((entry) => parseDeviceSpec(entry) === undefined);
  if (entries.length === 0 || unknown.length > 0) {
    throw new ConfigError(
      `--devices takes a comma-separated list of ${DEVICE_SPELLINGS}, one worker each (e.g. cuda:0,cuda:1); '${unknown[0] ?? value}' is not one.`,
    );
  }
  if (entries.filter((entry) => entry.toLowerCase() === 'cuda').length > 1) {
    throw new ConfigError(
      `--devices '${value}': name each GPU by its index, e.g. cuda:0,cuda:1 for one worker per GPU (cuda:0,cuda:0 puts two workers on GPU 0).`,
    );
  }
  return entries.map((entry) => parseDeviceSpec(entry)!);
}
