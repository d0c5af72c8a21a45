/**
 * Issue 10's figures for `pnpm bench` (alone: `pnpm bench --only scale-out`), all on loopback with
 * the built-in model, a real redis-server (AOF on, as the deployment docs ask) and real processes:
 * - throughput with two `pixels worker` processes against one, side by side in one run;
 * - the Redis path's added latency per job against the in-process queue: 1-step tiny edits, request
 *   to the done event, `pixels serve --redis … --local-workers 1` against plain `pixels serve`
 *   (one process each, one worker each), alternating;
 * - the event stream's step latency from a `pixels worker` process to the client (through Redis and
 *   the API node): each step event's arrival at the client against the moment the worker emitted
 *   it (the job's `startedAt` plus the step's `elapsedMs`, both stamped by the process that runs
 *   the edit, on this machine's one clock).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, SubmitResponse } from '@pixels/shared';
import { freeLoopbackPort, PixelsProcesses } from '../test/helpers/pixels-processes.ts';
import { encodePng } from '../test/server/http/png-bytes.ts';

export interface ScaleOutBenchOptions {
  modelsDir: string;
  /** Jobs per throughput round. Default 8. */
  throughputJobs?: number;
  /** Measured 1-step edits per queue for the latency figure. Default 15. */
  latencyRuns?: number;
}

export interface ScaleOutFigures {
  throughputJobs: number;
  throughputEdit: string;
  /** Jobs per second with one worker process and with two, per round (rounds alternate). */
  oneWorkerJobsPerSecond: number[];
  twoWorkersJobsPerSecond: number[];
  latencyRuns: number;
  /** Medians of request → done event for a 1-step 64x64 edit. */
  inProcessMs: number;
  redisMs: number;
  /** Median and 90th percentile of step-event arrival minus emission, Redis path and in-process. */
  redisStepMs: { median: number; p90: number; count: number };
  inProcessStepMs: { median: number; p90: number; count: number };
  cores: number;
  loadAverage: number;
}

interface Row {
  figure: string;
  value: string;
  target?: string;
  pass?: boolean;
}

/** Rounds of each configuration, alternating one worker and two. */
const THROUGHPUT_ROUNDS = 2;
const TOKEN = 'bench-token-0123456789abcdef';
const HEADERS = { Authorization: `Bearer ${TOKEN}` };
const OWNERS = ['ana', 'ben', 'cyd'];
const TOKENS = [`bench:${TOKEN}:admin`, ...OWNERS.map((name) => `${name}:${name}-token-0123456789abcdef`)].join(',');

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function percentile(values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

/** A redis-server as the deployment docs configure it, on a loopback port with a temp folder. */
async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pixels-bench-redis-'));
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
      ...['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (child.exitCode !== null) break;
    const answered = await new Promise<boolean>((resolve) => {
      import('node:net').then(({ connect }) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data.toString().startsWith('+PONG'));
        });
        socket.once('error', () => resolve(false));
      });
    });
    if (answered) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error('redis-server did not start (is Debian’s redis-server installed?)');
}

interface EditShape {
  side: number;
  steps: number;
  previews?: boolean;
}

function editForm(shape: EditShape, seed: number): FormData {
  const { side } = shape;
  const source = encodePng(side, side);
  const exemplar = encodePng(side, side, (x, y) =>
    (x - side / 2) ** 2 + (y - side / 2) ** 2 < (side / 4) ** 2 ? [40, 160, 60, 255] : [0, 0, 0, 0],
  );
  const form = new FormData();
  form.append('settings', JSON.stringify({ steps: shape.steps, strength: 1, seed, previews: shape.previews ?? false }));
  form.append('source', new Blob([source.slice()], { type: 'image/png' }), 'source.png');
  form.append('exemplar', new Blob([exemplar.slice()], { type: 'image/png' }), 'exemplar.png');
  return form;
}

interface Arrival {
  type: string;
  data: Record<string, unknown>;
  at: number;
}

/** Reads a job's event stream to its end, stamping each event with its arrival (epoch ms, sub-ms). */
async function followEvents(response: Response): Promise<Arrival[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const arrivals: Arrival[] = [];
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return arrivals;
    const at = performance.timeOrigin + performance.now();
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = /^event: (\w+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (type && data) arrivals.push({ type, data: JSON.parse(data), at });
    }
  }
}

class BenchClient {
  private seed = 0;
  constructor(readonly url: string) {}

  /** Submits as `owner` (the bench token when absent) and follows the events to the end. */
  async edit(shape: EditShape, owner?: string): Promise<{ id: string; startedMs: number; arrivals: Arrival[] }> {
    const headers = owner ? { Authorization: `Bearer ${owner}-token-0123456789abcdef` } : HEADERS;
    const startedMs = performance.timeOrigin + performance.now();
    const submitted = await fetch(`${this.url}/v1/edits`, {
      method: 'POST',
      body: editForm(shape, ++this.seed),
      headers,
    });
    if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
    const submit = SubmitResponse.parse(await submitted.json());
    const arrivals = await followEvents(await fetch(`${this.url}${submit.eventsUrl}`, { headers }));
    const last = arrivals.at(-1);
    if (last?.type !== 'done') throw new Error(`the bench edit ended with ${JSON.stringify(last)}`);
    return { id: submit.id, startedMs, arrivals };
  }

  async job(id: string): Promise<Job> {
    return Job.parse(await (await fetch(`${this.url}/v1/jobs/${id}`, { headers: HEADERS })).json());
  }
}

/** Wall time for `count` edits submitted at once by three users, to the last done event. */
async function throughputRound(client: BenchClient, shape: EditShape, count: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, (_, index) => client.edit(shape, OWNERS[index % OWNERS.length])));
  return (count * 1000) / (performance.now() - started);
}

/** Step-event arrival minus emission: emission is the worker's `startedAt` plus the step's `elapsedMs`. */
async function stepLatencies(client: BenchClient, edit: Awaited<ReturnType<BenchClient['edit']>>): Promise<number[]> {
  const job = await client.job(edit.id);
  const origin = Date.parse(job.startedAt!);
  return edit.arrivals
    .filter((arrival) => arrival.type === 'step')
    .map((arrival) => arrival.at - (origin + Number(arrival.data.elapsedMs)));
}

export async function benchScaleOut(options: ScaleOutBenchOptions): Promise<ScaleOutFigures> {
  const throughputJobs = options.throughputJobs ?? 8;
  const latencyRuns = options.latencyRuns ?? 15;
  const throughputShape: EditShape = { side: 128, steps: 10 };
  const tiny: EditShape = { side: 64, steps: 1 };
  const stepped: EditShape = { side: 96, steps: 12 };
  const redis = await startRedis();
  const processes = new PixelsProcesses({ PIXELS_MODELS_DIR: options.modelsDir, PIXELS_TOKENS: TOKENS });
  try {
    // Throughput: an API node and worker processes, rounds alternating one worker and two (a
    // second worker joins, then leaves), so drift in the machine's load hits both alike.
    const apiPort = await freeLoopbackPort();
    const api = await processes.serve(['--redis', redis.url, '--port', String(apiPort)]);
    const apiClient = new BenchClient(api.url);
    const workerArgs = ['--redis', redis.url, '--device', 'cpu', '--models', options.modelsDir];
    await processes.worker('bench-1', workerArgs);
    await throughputRound(apiClient, throughputShape, 2); // warm-up: a worker's first edit opens its sessions
    const oneWorker: number[] = [];
    const twoWorkers: number[] = [];
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      oneWorker.push(await throughputRound(apiClient, throughputShape, throughputJobs));
      const second = await processes.worker(`bench-2-${round + 1}`, workerArgs);
      await throughputRound(apiClient, throughputShape, 4);
      twoWorkers.push(await throughputRound(apiClient, throughputShape, throughputJobs));
      await second.stop('SIGTERM');
    }
    // Step events across processes: worker process → Redis → API node → client.
    const redisSteps: number[] = [];
    for (let run = 0; run < 3; run++)
      redisSteps.push(...(await stepLatencies(apiClient, await apiClient.edit(stepped))));
    await processes.stopAll();

    // Latency: one process each, one worker each, alternating rounds.
    const inProcess = new BenchClient((await processes.serve(['--port', '0', '--devices', 'cpu'])).url);
    const onRedis = new BenchClient(
      (await processes.serve(['--redis', redis.url, '--port', '0', '--local-workers', '1'])).url,
    );
    for (const client of [inProcess, onRedis]) await client.edit(tiny);
    const inProcessRuns: number[] = [];
    const redisRuns: number[] = [];
    const doneAfter = (edit: Awaited<ReturnType<BenchClient['edit']>>) => edit.arrivals.at(-1)!.at - edit.startedMs;
    for (let run = 0; run < latencyRuns; run++) {
      inProcessRuns.push(doneAfter(await inProcess.edit(tiny)));
      redisRuns.push(doneAfter(await onRedis.edit(tiny)));
    }
    const inProcessSteps: number[] = [];
    for (let run = 0; run < 3; run++) {
      inProcessSteps.push(...(await stepLatencies(inProcess, await inProcess.edit(stepped))));
    }
    const summary = (values: number[]) => ({
      median: median(values),
      p90: percentile(values, 0.9),
      count: values.length,
    });
    return {
      throughputJobs,
      throughputEdit: `${throughputShape.side}x${throughputShape.side}, ${throughputShape.steps} steps`,
      oneWorkerJobsPerSecond: oneWorker,
      twoWorkersJobsPerSecond: twoWorkers,
      latencyRuns,
      inProcessMs: median(inProcessRuns),
      redisMs: median(redisRuns),
      redisStepMs: summary(redisSteps),
      inProcessStepMs: summary(inProcessSteps),
      cores: cpus().length,
      loadAverage: loadavg()[0],
    };
  } finally {
    await processes.stopAll();
    await redis.stop();
  }
}

export function scaleOutRows(figures: ScaleOutFigures): Row[] {
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const ratio = mean(figures.twoWorkersJobsPerSecond) / mean(figures.oneWorkerJobsPerSecond);
  const added = figures.redisMs - figures.inProcessMs;
  const rates = (values: number[]) =>
    `${mean(values).toFixed(2)} jobs/s (rounds: ${values.map((value) => value.toFixed(2)).join(', ')})`;
  return [
    {
      figure: `throughput, one worker process (${figures.throughputJobs} edits of ${figures.throughputEdit}, 3 users at once; mean of alternating rounds)`,
      value: rates(figures.oneWorkerJobsPerSecond),
    },
    { figure: 'throughput, two worker processes', value: rates(figures.twoWorkersJobsPerSecond) },
    {
      figure: `two workers / one (${figures.cores} cores, load average ${figures.loadAverage.toFixed(1)})`,
      value: ratio.toFixed(2),
    },
    {
      figure: `1-step 64x64 edit, request to done event, in-process queue (median of ${figures.latencyRuns})`,
      value: `${figures.inProcessMs.toFixed(1)} ms`,
    },
    {
      figure: 'the same on Redis (`--redis … --local-workers 1`, one process)',
      value: `${figures.redisMs.toFixed(1)} ms`,
    },
    {
      figure: "the Redis path's added latency per job (median difference)",
      value: `${added.toFixed(1)} ms`,
      target: '≤ 30 ms',
      pass: added <= 30,
    },
    {
      figure: `step event, \`pixels worker\` process to client through Redis and the API node (median of ${figures.redisStepMs.count} steps; 90th percentile)`,
      value: `${figures.redisStepMs.median.toFixed(1)} ms (${figures.redisStepMs.p90.toFixed(1)} ms)`,
      target: '≤ 50 ms',
      pass: figures.redisStepMs.median <= 50,
    },
    {
      figure: 'step event, worker thread to client in-process (the same measure)',
      value: `${figures.inProcessStepMs.median.toFixed(1)} ms (${figures.inProcessStepMs.p90.toFixed(1)} ms)`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchScaleOut({
    modelsDir: process.env.PIXELS_MODELS_DIR ?? join(import.meta.dirname, '..', 'models'),
  });
  console.table(scaleOutRows(figures));
}
