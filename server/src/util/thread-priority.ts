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
 * Runs the calling thread `levels` nice levels lower (at most nice 19; 0 leaves it alone), so that
 * an edit computing on every core does not keep the HTTP thread waiting for one. Only on Linux,
 * where the nice value is per thread (setpriority on "0" is the calling thread) and a thread created
 * later inherits its creator's: the engine thread calls this before it loads its sessions, so
 * onnxruntime's pool threads run lowered too, while the main thread and libuv's pool keep theirs.
 * Elsewhere setpriority would lower the whole process, so it does nothing. Raising a nice value
 * needs no privilege. Returns the nice value the thread now has, or undefined when left alone.
 */
export function lowerThisThread(levels: number): number | undefined {
  if (levels <= 0 || process.platform !== 'linux') return undefined;
  const nice = Math.min(19, getPriority() + levels);
  setPriority(nice);
  return nice;
}
