import { EventLoopStallMonitor } from '@pixels/server/http/event-loop-monitor.ts';
import { describe, expect, it } from 'vitest';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the loop is blocked, as a synchronous inference call on the HTTP thread would block it
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
      // Thread CPU time: at least most of the 40 ms spin, even on a loaded machine.
      expect(monitor.maxBusyStallMs).toBeGreaterThanOrEqual(30);
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
