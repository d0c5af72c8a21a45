import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Real `pixels serve` and `pixels worker` processes for the scale-out fault tests and benchmarks:
 * each is started as a user starts it (node + tsx on server/src/cli/main.ts), its JSON log lines
 * are collected so a failure can show what every process said, and it is stopped by its own pid.
 * Nothing here imports vitest, so `pnpm bench` uses it too; tests register `stopAll` in afterAll.
 */

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(REPO_ROOT, 'server', 'src', 'cli', 'main.ts');
/** tsx's loader by its full address, so the processes do not depend on the cwd's node_modules. */
const TSX = pathToFileURL(createRequire(join(REPO_ROOT, 'package.json')).resolve('tsx')).href;
/** Raw output lines kept per process for failure reports. */
const KEPT_LINES = 400;
/** A process start on a busy 2-core machine: tsx compiles the CLI, the worker opens its model. */
const START_TIMEOUT_MS = 90_000;

export type LogLine = Record<string, unknown>;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PixelsProcess {
  /** Who it is in reports: 'serve#2', 'worker w1'. */
  readonly label: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every JSON log line it printed on stdout, in order. */
  readonly lines: LogLine[];
  /** The last raw lines of stdout and stderr together. */
  readonly output: string[];
  readonly exited: Promise<ProcessExit>;
  /** Whether it has not exited yet. */
  readonly running: boolean;
  /** Resolves with the first log line (already printed or still to come) that matches; rejects on exit or timeout. */
  waitForLine(matches: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /**
   * Sends `signal` to its own pid and waits for the exit; a SIGTERM that is not obeyed within
   * `graceMs` is followed by SIGKILL.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL', graceMs?: number): Promise<ProcessExit>;
  /** Its label, pid, exit and last output lines, for failure messages. */
  describe(lastLines?: number): string;
}

export interface ServeProcess extends PixelsProcess {
  /** Base URL from its `listening` line, e.g. http://127.0.0.1:41234. */
  readonly url: string;
}

/** The log line a worker prints once it takes jobs. */
export function isWorkerReadyLine(line: LogLine): boolean {
  return line.msg === 'worker ready' || line.msg === 'worker listening';
}

export class PixelsProcesses {
  private readonly started: PixelsProcess[] = [];
  private counter = 0;

  /** `env` is added to every process (e.g. PIXELS_MODELS_DIR, PIXELS_TOKENS). */
  constructor(private readonly env: Record<string, string> = {}) {}

  /** Every process started so far, running or not. */
  get all(): readonly PixelsProcess[] {
    return this.started;
  }

  /** `pixels <args>` as its own process, with its output collected. */
  spawn(label: string, args: readonly string[], env: Record<string, string> = {}): PixelsProcess {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`${label}: the process did not start`);
    const pid = child.pid;
    const lines: LogLine[] = [];
    const output: string[] = [];
    const waiters = new Set<() => void>();
    let exit: ProcessExit | undefined;
    const exited = new Promise<ProcessExit>((resolve) =>
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        resolve(exit);
        for (const wake of waiters) wake();
      }),
    );
    const keep = (line: string) => {
      output.push(line);
      if (output.length > KEPT_LINES) output.shift();
    };
    const splitLines = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) => {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const part of parts) onLine(part);
      });
    };
    splitLines(child.stdout!, (text) => {
      keep(text);
      if (!text.startsWith('{')) return;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        return;
      }
      for (const wake of waiters) wake();
    });
    splitLines(child.stderr!, (text) => keep(`[stderr] ${text}`));

    const started: PixelsProcess = {
      label,
      pid,
      child,
      lines,
      output,
      exited,
      get running() {
        return exit === undefined;
      },
      waitForLine(matches, what, timeoutMs = START_TIMEOUT_MS) {
        return new Promise<LogLine>((resolve, reject) => {
          const check = () => {
            const found = lines.find(matches);
            if (found) finish(() => resolve(found));
            else if (exit) finish(() => reject(new Error(`${label} exited before ${what}:\n${started.describe()}`)));
          };
          const timer = setTimeout(
            () =>
              finish(() => reject(new Error(`${label}: no ${what} within ${timeoutMs} ms:\n${started.describe()}`))),
            timeoutMs,
          );
          const finish = (settle: () => void) => {
            clearTimeout(timer);
            waiters.delete(check);
            settle();
          };
          waiters.add(check);
          check();
        });
      },
      async stop(signal = 'SIGTERM', graceMs = 20_000) {
        if (exit) return exit;
        child.kill(signal);
        if (signal === 'SIGTERM') {
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const result = await exited;
          clearTimeout(timer);
          return result;
        }
        return exited;
      },
      describe(lastLines = 40) {
        const state = exit ? `exited (code ${exit.code}, signal ${exit.signal})` : 'running';
        return [`--- ${label} (pid ${pid}, ${state}) ---`, ...output.slice(-lastLines)].join('\n');
      },
    };
    this.started.push(started);
    return started;
  }

  /** `pixels serve <args>`, resolved once it logs `listening`. */
  async serve(args: readonly string[], env: Record<string, string> = {}): Promise<ServeProcess> {
    const started = this.spawn(`serve#${++this.counter}`, ['serve', ...args], env);
    try {
      const listening = await started.waitForLine((line) => line.msg === 'listening', 'listening line');
      return Object.assign(started, { url: String(listening.url) });
    } catch (error) {
      await started.stop('SIGKILL');
      throw error;
    }
  }

  /** `pixels worker <args>`, resolved once it logs that it takes jobs. */
  async worker(name: string, args: readonly string[], env: Record<string, string> = {}): Promise<PixelsProcess> {
    const started = this.spawn(`worker ${name}`, ['worker', '--name', name, ...args], env);
    try {
      await started.waitForLine(isWorkerReadyLine, 'worker ready line');
      return started;
    } catch (error) {
      await started.stop('SIGKILL');
      throw error;
    }
  }

  /** What every process said (the last lines of each), for a failed test's message. */
  report(lastLines = 40): string {
    return this.started.map((started) => started.describe(lastLines)).join('\n');
  }

  /** Stops every process still running, each by its own pid (SIGTERM, then SIGKILL after `graceMs`). */
  async stopAll(graceMs = 10_000): Promise<void> {
    await Promise.all(this.started.map((started) => started.stop('SIGTERM', graceMs)));
  }
}

/** A TCP port free on 127.0.0.1 right now (for a server that must come back on the same port). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no loopback port was free');
  return address.port;
}
