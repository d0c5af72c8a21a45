import { parseArgs } from 'node:util';

/** A bad flag or variable: the message names it and says what is expected. */
export class ConfigError extends Error {}

/** One option of a long-running command (`pixels serve`, `pixels worker`): a flag and the variable that stands in for it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  env: string;
  help: string;
  /** Shown in --help; the value used when neither the flag nor the variable is set. */
  fallback?: string;
}

/** An option's value from its flag, else its environment variable, else its fallback. */
export interface OptionReader {
  text(name: string): string | undefined;
  /** A boolean flag, or its variable as 1/true or 0/false. */
  flag(name: string): boolean;
  integer(name: string, min: number, max?: number): number;
}

/** Parses `argv` against `options` (plus --help); `undefined` means --help was asked for. */
export function readOptions(
  command: string,
  options: Readonly<Record<string, OptionSpec>>,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OptionReader | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.entries(options).map(([name, spec]) => [name, { type: spec.type }])),
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message} (${command} --help lists the options)`);
  }
  if (values.help) return undefined;
  const text = (name: string): string | undefined => {
    const value = values[name] ?? env[options[name].env];
    return typeof value === 'string' && value !== '' ? value : options[name].fallback;
  };
  return {
    text,
    flag(name) {
      if (values[name] !== undefined) return values[name] === true;
      const value = env[options[name].env];
      if (value === undefined || value === '' || value === '0' || value === 'false') return false;
      if (value === '1' || value === 'true') return true;
      throw new ConfigError(`${options[name].env} must be 1/true or 0/false, not '${value}'.`);
    },
    integer(name, min, max = Number.MAX_SAFE_INTEGER) {
      const value = text(name)!;
      const number = Number(value);
      if (!/^\d+$/.test(value) || number < min || number > max) {
        throw new ConfigError(
          `--${name} (${options[name].env}) must be a whole number from ${min} to ${max}, not '${value}'.`,
        );
      }
      return number;
    },
  };
}

/** Refuses a --redis value that is not a redis:// or rediss:// URL with a host. */
export function checkRedisUrl(url: string): void {
  if (!/^rediss?:\/\/[^/]/.test(url)) {
    throw new ConfigError(`--redis (PIXELS_REDIS_URL) must be a URL like redis://127.0.0.1:6379, not '${url}'.`);
  }
}
