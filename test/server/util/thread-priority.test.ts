import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { threadIds, threadNice } from '@pixels/server/util/thread-priority.ts';
import { describe, expect, it } from 'vitest';

const onLinux = threadIds().length > 0;

/** This thread's id (Linux: /proc/thread-self links to /proc/<pid>/task/<tid>). */
function ownThreadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').at(-1));
}

/** Runs lowering-worker.mjs, which lowers itself by `levels` and reports (see there). */
function loweringWorker(levels: number): Promise<{ own: [number, number]; child: [number, number]; lowered?: number }> {
  const worker = new Worker(new URL('./lowering-worker.mjs', import.meta.url), { workerData: { levels } });
  return new Promise((resolve, reject) => {
    worker.once('message', (report) => {
      resolve(report);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe.runIf(onLinux)('a worker thread lowering itself below the HTTP thread (Linux nice, per thread)', () => {
  it('lowers the calling thread and the threads it starts later, not the thread that started it', async () => {
    const main = ownThreadId();
    const mainNice = threadNice(main)!;
    const report = await loweringWorker(7);
    expect(report.lowered).toBe(Math.min(19, mainNice + 7));
    expect(report.own[1]).toBe(Math.min(19, mainNice + 7));
    expect(report.child[1], 'a thread the worker starts inherits its nice value').toBe(report.own[1]);
    expect(report.own[0]).not.toBe(main);
    expect(threadNice(main), 'the starting (HTTP) thread keeps its priority').toBe(mainNice);
  });

  it('does nothing with 0 levels', async () => {
    const report = await loweringWorker(0);
    expect(report.lowered).toBeUndefined();
    expect(report.own[1]).toBe(threadNice(ownThreadId()));
  });
});
