/** Structured logs: one JSON object per line, so job ids and durations can be searched and summed. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface JsonLoggerOptions {
  /** Lines below this level are dropped. Default 'info'. */
  level?: LogLevel;
  /** Where a finished line goes. Default: standard output. */
  write?: (line: string) => void;
}

/** Errors become `{ name, message, stack }`: JSON.stringify would turn them into `{}`. */
function serializable(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function createJsonLogger(options: JsonLoggerOptions = {}, bound: LogFields = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info');
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const log = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const line: LogFields = { time: new Date().toISOString(), level, msg: message };
    for (const [key, value] of Object.entries({ ...bound, ...fields })) line[key] = serializable(value);
    write(JSON.stringify(line));
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    child: (fields) => createJsonLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
