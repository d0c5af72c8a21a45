import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { lowerWorkerThreadPriority, threadIds, threadNice } from '@pixels/server/util/thread-priority.ts';
import { describe, expect, it } from 'vitest';

const onLinux = threadIds().length > 0;

/** This thread's id (Linux: /proc/thread-self links to /proc/<pid>/task/<tid>). */
function ownThreadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').at(-1));
}

/**
 * A worker thread that reports its own id and nice value, and those of a thread it starts itself
 * (as the engine thread starts onnxruntime's pool threads when it loads its sessions).
 */
function reportingWorker(): Promise<{ own: [number, number]; child: [number, number] }> {
  const source = `
    const { readlinkSync, readFileSync } = require('node:fs');
    const { Worker, parentPort, isMainThread } = require('node:worker_threads');
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    const child = new Worker(\`
      const { readlinkSync, readFileSync } = require('node:fs');
      const stat = readFileSync('/proc/thread-self/stat', 'latin1');
      require('node:worker_threads').parentPort.postMessage([
        Number(readlinkSync('/proc/thread-self').split('/').at(-1)),
        Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]),
      ]);\`, { eval: true });
    child.once('message', (report) => parentPort.postMessage({ own: [tid, nice], child: report }));
  `;
  const worker = new Worker(source, { eval: true });
  return new Promise((resolve, reject) => {
    worker.once('message', (report) => {
      resolve(report);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe.runIf(onLinux)('lowering the worker threads below the HTTP thread (Linux nice, per thread)', () => {
  it('lowers each worker thread started after it, and the threads those start, but not the thread that asked', async () => {
    const main = ownThreadId();
    const mainNice = threadNice(main)!;
    const stop = lowerWorkerThreadPriority(Math.min(19, mainNice + 7));
    try {
      // Two started in one tick get their 'worker' events in one burst: each must still be found.
      const [first, second] = await Promise.all([reportingWorker(), reportingWorker()]);
      for (const report of [first, second]) {
        expect(report.own[1]).toBe(Math.min(19, mainNice + 7));
        expect(report.child[1], 'a thread the worker starts inherits its nice value').toBe(report.own[1]);
      }
      expect(first.own[0]).not.toBe(second.own[0]);
      expect(threadNice(main), 'the asking (HTTP) thread keeps its priority').toBe(mainNice);
      // Read from the outside too, as /proc shows it to an operator.
      const niceOfOthers = threadIds()
        .filter((tid) => tid !== main)
        .map((tid) => threadNice(tid));
      expect(niceOfOthers.every((nice) => nice === undefined || nice >= mainNice)).toBe(true);
    } finally {
      stop();
    }
    const after = await reportingWorker();
    expect(after.own[1], 'once stopped, new workers are left alone').toBe(mainNice);
  });

  it('does nothing with nice 0', async () => {
    const stop = lowerWorkerThreadPriority(0);
    const report = await reportingWorker();
    stop();
    expect(report.own[1]).toBe(threadNice(ownThreadId()));
  });
});
