import { closeSync, openSync, readSync } from 'node:fs';

/** How often the loop is sampled while jobs run; a stall is a sampling gap beyond this. */
const SAMPLING_MS = 2;

/**
 * Reads this thread's CPU time on Linux (/proc/thread-self/schedstat, nanoseconds on a core), so
 * a stall can be split into time the thread ran (our code blocking the loop) and time it waited
 * for a core (a busy machine). Elsewhere it returns undefined and only wall stalls are known.
 */
function openThreadCpuClock(): { read(): number; close(): void } | undefined {
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return undefined;
  }
  const buffer = Buffer.alloc(64);
  return {
    read: () => Number(buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0)).split(' ')[0]) / 1e6,
    close: () => closeSync(fd),
  };
}

export type RequestKind = 'upload' | 'download';

/**
 * The largest event-loop stalls while jobs run, and separately while uploads are parsed and
 * results streamed. Inference belongs on the worker threads: a stall the HTTP thread spends
 * running (`maxBusyStallMs`) is our code blocking every request; one it spends waiting for a core
 * shows only in `maxStallMs`. Sampling runs only while something is in flight.
 */
export class EventLoopStallMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly cpu = openThreadCpuClock();
  private lastWallMs = 0;
  private lastCpuMs = 0;
  private worstMs = 0;
  private worstBusyMs = 0;
  private running = 0;
  private readonly inFlight: Record<RequestKind, number> = { upload: 0, download: 0 };
  private readonly worstRequestMs: Record<RequestKind, number> = { upload: 0, download: 0 };
  private readonly worstRequestBusyMs: Record<RequestKind, number> = { upload: 0, download: 0 };

  /** Call with the number of running jobs whenever it changes. */
  update(running: number): void {
    this.sampleIfRunning();
    this.running = running;
    this.reschedule();
  }

  /** Counts one request of `kind` in flight until the returned function is called. */
  track(kind: RequestKind): () => void {
    this.sampleIfRunning();
    this.inFlight[kind]++;
    this.reschedule();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.sampleIfRunning();
      this.inFlight[kind]--;
      this.reschedule();
    };
  }

  /** Largest wall-clock stalls in ms while uploads, and while downloads, were in flight. */
  get requestStallsMs(): { upload: number; download: number } {
    return { ...this.worstRequestMs };
  }

  /** The same, counting only time the thread ran (undefined where not measurable). */
  get requestBusyStallsMs(): { upload: number; download: number } | undefined {
    return this.cpu ? { ...this.worstRequestBusyMs } : undefined;
  }

  private get active(): boolean {
    return this.running > 0 || this.inFlight.upload > 0 || this.inFlight.download > 0;
  }

  private sampleIfRunning(): void {
    if (this.timer) this.sample();
  }

  private reschedule(): void {
    if (this.active && !this.timer) {
      this.lastWallMs = performance.now();
      this.lastCpuMs = this.cpu?.read() ?? 0;
      this.timer = setInterval(() => this.sample(), SAMPLING_MS);
      this.timer.unref();
    } else if (!this.active && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Largest wall-clock stall in ms since start, counting only time with a job running. */
  get maxStallMs(): number {
    return this.worstMs;
  }

  /** Largest stall in ms during which the thread was on a core (undefined where not measurable). */
  get maxBusyStallMs(): number | undefined {
    return this.cpu ? this.worstBusyMs : undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.cpu?.close();
  }

  private sample(): void {
    const wallMs = performance.now();
    const cpuMs = this.cpu?.read() ?? 0;
    const stallMs = Math.max(0, wallMs - this.lastWallMs - SAMPLING_MS);
    // The kernel brings a running thread's schedstat up to date only at its scheduler tick (4 ms at
    // HZ=250), so a difference of two reads can exceed the time between them; a thread cannot run
    // longer than that time.
    const busyMs = Math.min(cpuMs - this.lastCpuMs, wallMs - this.lastWallMs);
    if (this.running > 0) {
      this.worstMs = Math.max(this.worstMs, stallMs);
      this.worstBusyMs = Math.max(this.worstBusyMs, busyMs);
    }
    for (const kind of ['upload', 'download'] as const) {
      if (this.inFlight[kind] === 0) continue;
      this.worstRequestMs[kind] = Math.max(this.worstRequestMs[kind], stallMs);
      this.worstRequestBusyMs[kind] = Math.max(this.worstRequestBusyMs[kind], busyMs);
    }
    this.lastWallMs = wallMs;
    this.lastCpuMs = cpuMs;
  }
}
