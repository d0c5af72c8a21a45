// A worker thread that lowers itself as the engine thread does (util/thread-priority.ts), then
// reports its own thread id and nice value and those of a thread it starts afterwards, as the
// engine thread starts onnxruntime's pool threads when it loads its sessions.
import { readFileSync, readlinkSync } from 'node:fs';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { lowerThisThread } = await import('../../../server/src/util/thread-priority.ts');
const lowered = lowerThisThread(workerData.levels);

const ownReport = () => {
  const stat = readFileSync('/proc/thread-self/stat', 'latin1');
  return [
    Number(readlinkSync('/proc/thread-self').split('/').at(-1)),
    Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]),
  ];
};
const child = new Worker(
  `const { readlinkSync, readFileSync } = require('node:fs');
  const stat = readFileSync('/proc/thread-self/stat', 'latin1');
  require('node:worker_threads').parentPort.postMessage([
    Number(readlinkSync('/proc/thread-self').split('/').at(-1)),
    Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]),
  ]);`,
  { eval: true },
);
child.once('message', (childReport) => parentPort.postMessage({ own: ownReport(), child: childReport, lowered }));
