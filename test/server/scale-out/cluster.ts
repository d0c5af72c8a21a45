import { afterAll, onTestFailed } from 'vitest';
import {
  freeLoopbackPort,
  type PixelsProcess,
  PixelsProcesses,
  type ServeProcess,
} from '../../helpers/pixels-processes.ts';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.ts';
import { bearer, TEAM_TOKENS } from '../http/app-harness.ts';
import { TEST_MODELS_DIR } from '../http/live-server.ts';
import { JobLedger } from './job-ledger.ts';

/**
 * A scale-out deployment on loopback for one test: a real redis-server (AOF on), `pixels serve
 * --redis` API nodes on one fixed port (so a restarted node comes back at the same address) and
 * `pixels worker` processes on the CPU with the built-in model. Every process and Redis are
 * stopped by their own pid after the file's tests; a failed test prints what each process logged.
 */
export interface Cluster {
  readonly redis: TestRedis;
  readonly processes: PixelsProcesses;
  readonly port: number;
  readonly url: string;
  readonly ledger: JobLedger;
  /** Starts an API node (`pixels serve --redis … --port <port>`) and waits for its listening line. */
  startServe(extraArgs?: readonly string[]): Promise<ServeProcess>;
  /** Starts `pixels worker --redis … --device cpu --models <test models> --name <name>`. */
  startWorker(name: string, extraArgs?: readonly string[]): Promise<PixelsProcess>;
  /**
   * The worker process running `jobId` now: the one `GET /v1/workers` (admin) names with it as its
   * current job, or whose log mentions it. Waits at most `timeoutMs`.
   */
  workerRunning(jobId: string, workers: readonly PixelsProcess[], timeoutMs?: number): Promise<PixelsProcess>;
}

/** Every token of the test team, as `PIXELS_TOKENS` spells them. */
export const TEAM_TOKENS_VARIABLE = TEAM_TOKENS.map(
  (entry) => `${entry.name}:${entry.token}${entry.role === 'admin' ? ':admin' : ''}`,
).join(',');

const clusters: { redis: TestRedis; processes: PixelsProcesses }[] = [];
afterAll(async () => {
  for (const { redis, processes } of clusters.splice(0)) {
    await processes.stopAll();
    await redis.stop({ hard: true });
  }
});

export async function startCluster(): Promise<Cluster> {
  const redis = await startTestRedis();
  const processes = new PixelsProcesses({
    PIXELS_MODELS_DIR: TEST_MODELS_DIR,
    PIXELS_TOKENS: TEAM_TOKENS_VARIABLE,
  });
  clusters.push({ redis, processes });
  onTestFailed(() => {
    console.error(`What the processes logged:\n${processes.report()}`);
  });
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  return {
    redis,
    processes,
    port,
    url,
    ledger: new JobLedger(url),
    startServe: (extraArgs = []) =>
      processes.serve(['--redis', redis.url, '--host', '127.0.0.1', '--port', String(port), ...extraArgs]),
    startWorker: (name, extraArgs = []) =>
      processes.worker(name, ['--redis', redis.url, '--device', 'cpu', '--models', TEST_MODELS_DIR, ...extraArgs]),
    async workerRunning(jobId, workers, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const named = await currentWorkerName(url, jobId);
        const found =
          workers.find((worker) => named !== undefined && worker.label === `worker ${named}`) ??
          workers.find((worker) => worker.lines.some((line) => JSON.stringify(line).includes(jobId)));
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no worker was seen running job ${jobId} within ${timeoutMs} ms`);
    },
  };
}

/** The name of the worker `GET /v1/workers` lists with `jobId` as its current job. */
async function currentWorkerName(url: string, jobId: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/v1/workers`, { headers: bearer('boss'), signal: AbortSignal.timeout(5000) });
    if (response.status !== 200) return undefined;
    const body = (await response.json()) as { workers?: { name?: string; currentJob?: string }[] };
    return body.workers?.find((worker) => worker.currentJob === jobId)?.name;
  } catch {
    return undefined;
  }
}
