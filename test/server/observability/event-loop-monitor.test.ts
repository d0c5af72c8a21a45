import { readFileSync } from 'node:fs';
import { EventLoopStallMonitor } from '@pixels/server/observability/event-loop-monitor.ts';
import { describe, expect, it } from 'vitest';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** This thread's CPU time in ms (Linux), to spin for CPU time rather than wall time on a busy machine. */
function threadCpuMs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
}

/**
 * Blocks the loop, as a synchronous inference call on the HTTP thread would, for `ms` of CPU time
 * and at least as long in wall time (the kernel's CPU clock can run a tick ahead of the wall clock).
 */
function blockFor(ms: number): void {
  const clock = process.platform === 'linux' ? threadCpuMs : () => performance.now();
  const until = clock() + ms;
  const wallUntil = performance.now() + ms;
  while (clock() < until || performance.now() < wallUntil) {
    // spinning
  }
}

describe('EventLoopStallMonitor', () => {
  it('sees nothing while no job runs', async () => {
    const monitor = new EventLoopStallMonitor();
    blockFor(30);
    await pause(10);
    expect(monitor.maxStallMs).toBe(0);
    monitor.close();
  });

  it('measures a blocked loop while a job runs, as wall time and, on Linux, as busy time', async () => {
    const monitor = new EventLoopStallMonitor();
    monitor.update(1);
    await pause(10);
    blockFor(40);
    await pause(10);
    monitor.update(0);
    expect(monitor.maxStallMs).toBeGreaterThanOrEqual(35);
    if (process.platform === 'linux') {
      // The 40 ms of CPU the spin took, whatever waiting for a core added to the wall time.
      expect(monitor.maxBusyStallMs).toBeGreaterThanOrEqual(40);
      expect(monitor.maxBusyStallMs).toBeLessThanOrEqual(monitor.maxStallMs + 5);
    } else {
      expect(monitor.maxBusyStallMs).toBeUndefined();
    }
    // Not watched once no job runs.
    const watched = monitor.maxStallMs;
    blockFor(60);
    await pause(5);
    expect(monitor.maxStallMs).toBe(watched);
    monitor.close();
  });
});
