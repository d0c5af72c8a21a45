import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** This process's thread ids (Linux: /proc/self/task); empty where there is no /proc. */
export function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

/** A thread's nice value (field 19 of /proc/self/task/<tid>/stat), or undefined where unreadable. */
export function threadNice(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  } catch {
    return undefined;
  }
}

/**
 * From now on, runs every worker thread this process starts `levels` nice levels below the
 * calling (HTTP) thread (at most nice 19; 0 leaves them alone), so the HTTP thread gets a core first whenever it wants one and an edit computing on
 * every core does not stall it. Linux keeps the nice value per thread, and a thread created later
 * inherits its creator's: the engine thread's onnxruntime pool threads, made when it loads its
 * sessions, run lowered too, while the threads the main thread starts (libuv's pool) do not.
 * Raising a nice value needs no privilege. Returns a function that stops watching.
 *
 * How the thread is found: Node emits 'worker' on the tick after a Worker's OS thread starts, long
 * before that thread has loaded any module; the newest thread the process did not have when this
 * was called, and that no earlier 'worker' event took, is that thread. Workers started in one tick
 * get their events in one burst, and each takes the newest left. Elsewhere than Linux it does nothing.
 */
export function lowerWorkerThreadPriority(
  levels: number,
  onLowered: (tid: number) => void = () => {},
  onFailed: (error: Error) => void = () => {},
): () => void {
  const before = new Set(threadIds());
  if (levels <= 0 || before.size === 0) return () => {};
  // On Linux, getpriority(PRIO_PROCESS, 0) reads the calling thread's own value.
  const nice = Math.min(19, getPriority() + levels);
  const taken = new Set<number>();
  const onWorker = () => {
    const newest = threadIds()
      .filter((tid) => !before.has(tid) && !taken.has(tid))
      .sort((a, b) => b - a)[0];
    if (newest === undefined) return;
    taken.add(newest);
    try {
      setPriority(newest, nice);
      onLowered(newest);
    } catch (error) {
      onFailed(error as Error);
    }
    // A thread that has exited leaves its id free for reuse; forget ids no longer alive.
    const alive = new Set(threadIds());
    for (const tid of taken) if (!alive.has(tid)) taken.delete(tid);
  };
  process.on('worker', onWorker);
  return () => process.off('worker', onWorker);
}
