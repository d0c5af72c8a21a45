/**
 * The team server's own cost, for `pnpm bench`. It starts `pixels serve` exactly as the README
 * does (its own process, the built-in model, one CPU worker) and sends edits over loopback,
 * following each over the event stream and fetching the PNG as the plugin does. Two figures:
 * - overhead: request start to the last byte of the PNG, minus the engine's own time
 *   (the result's Server-Timing `engine`): upload, checks, queueing, messages, events, download;
 * - the server's largest event-loop stall while jobs ran (its /metrics gauge), which shows that
 *   inference stays off the HTTP thread. It counts every job, the warm-up included;
 * - its largest stall while it refused a hostile body of a million empty parts (four at once, on
 *   the fresh server before any edit, so first-call costs count: an upper bound), and while 8
 *   clients downloaded one large result at once (the median of 3 rounds, each on a fresh server).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { decodeRgba, encodePng, resizeRaw } from '@pixels/server/images/codec.ts';
import { SubmitResponse } from '@pixels/shared';

export interface ServerBenchOptions {
  modelsDir: string;
  /** Folder with brick.png (source) and grass.png (exemplar, its left half made transparent). */
  fixturesDir: string;
  /** Measured edits after one warm-up edit. Default 5. */
  runs?: number;
  /** Source and exemplar side in pixels. Default 512. */
  size?: number;
  /** Default 20 steps at strength 0.5 (10 UNet calls), with step previews as the plugin asks. */
  steps?: number;
  strength?: number;
  previews?: boolean;
}

export interface ServerFigures {
  size: number;
  runs: number;
  /** Medians over the measured runs. */
  roundTripMs: number;
  engineMs: number;
  overheadMs: number;
  /** The worst measured run's overhead. */
  overheadMaxMs: number;
  /** The server's largest event-loop stall while any job ran (2 ms sampling, the period subtracted). */
  maxStallMs: number;
  /** The largest of those stalls that the HTTP thread spent running, i.e. our code blocking it (Linux). */
  maxBusyStallMs: number | undefined;
  /** 1-minute load average at the end: stalls on a busy machine include waiting for a core. */
  loadAverage: number;
  /** Largest stall while four million-part bodies were parsed and refused at once, and their status. */
  millionPartStallMs: number;
  /** The part of it the HTTP thread spent running (Linux). */
  millionPartBusyStallMs: number | undefined;
  millionPartStatus: number;
  /** Each round's largest stalls (wall clock and busy) while 8 clients downloaded one large result at once, on a fresh server. */
  downloads: DownloadRound[];
}

/** A bench row in the shape `pnpm bench` prints. */
export interface ServerBenchRow {
  figure: string;
  value: string;
  target?: string;
  pass?: boolean;
}

const ROOT = join(import.meta.dirname, '..');
const TOKEN = 'bench-token-0123456789abcdef';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function benchInputs(fixturesDir: string, size: number): Promise<{ source: Uint8Array; exemplar: Uint8Array }> {
  const source = await resizeRaw(await decodeRgba(await readFile(join(fixturesDir, 'brick.png')), 1 << 26), size, size);
  const grass = await resizeRaw(await decodeRgba(await readFile(join(fixturesDir, 'grass.png')), 1 << 26), size, size);
  const data = new Uint8Array(grass.data);
  for (let i = 0; i < size * size; i++) data[i * 4 + 3] = i % size >= size / 2 ? 255 : 0;
  return { source: await encodePng(source), exemplar: await encodePng({ ...grass, data }) };
}

/** `pixels serve` on a free loopback port; resolves with its URL once it logs that it listens. */
function startServeProcess(modelsDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'server/src/cli/main.ts'), 'serve', '--port', '0', '--devices', 'cpu'],
    {
      cwd: ROOT,
      env: { ...process.env, PIXELS_MODELS_DIR: modelsDir, PIXELS_TOKENS: `bench:${TOKEN}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let pending = '';
    child.once('exit', (code) => reject(new Error(`pixels serve exited with ${code} before listening`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        if (!line.includes('"msg":"listening"')) continue;
        child.stdout!.resume();
        resolve({ child, url: JSON.parse(line).url });
      }
    });
  });
}

/** Reads an event stream to its end (the server closes it after done, failed or canceled). */
async function lastEventType(response: Response): Promise<string | undefined> {
  const text = await response.text();
  return [...text.matchAll(/^event: (\w+)$/gm)].at(-1)?.[1];
}

/** A million empty parts (each with one header line): 48 MB that a parser without a part limit walks in full. */
function millionPartBody(): Buffer {
  const part = '--b\r\nX-Padding: 0123456789012345678901234\r\n\r\n\r\n';
  return Buffer.from(`${part.repeat(1_000_000)}--b--\r\n`, 'latin1');
}

/** Sends the body over a plain socket and resolves with the answer's status once the server closes. */
function postRaw(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 60_000);
    socket.on('data', (data) => {
      answer += data.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
    });
    socket.on('connect', () => {
      const head = Object.entries({ ...headers, 'Content-Length': String(body.length) })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.write(`POST /v1/edits HTTP/1.1\r\nHost: ${hostname}\r\n${head}\r\n`);
      socket.write(body);
    });
  });
}

/** The labelled request-stall gauges of /metrics (wall clock, and busy where measurable), in ms. */
async function requestStallMs(url: string, headers: Record<string, string>, during: 'upload' | 'download') {
  const metrics = await (await fetch(`${url}/metrics`, { headers })).text();
  const gauge = (name: string) => {
    const value = new RegExp(`^${name}\\{during="${during}"\\} (\\S+)$`, 'm').exec(metrics)?.[1];
    return value === undefined ? undefined : Number(value) * 1000;
  };
  return {
    wall: gauge('pixels_event_loop_request_stall_max_seconds') ?? Number.NaN,
    busy: gauge('pixels_event_loop_request_busy_stall_max_seconds'),
  };
}

export async function benchServer(options: ServerBenchOptions): Promise<ServerFigures> {
  const size = options.size ?? 512;
  const runs = options.runs ?? 5;
  const settings = JSON.stringify({
    steps: options.steps ?? 20,
    strength: options.strength ?? 0.5,
    previews: options.previews ?? true,
    seed: 1,
  });
  const inputs = await benchInputs(options.fixturesDir, size);
  const { child, url } = await startServeProcess(options.modelsDir);
  const headers = { Authorization: `Bearer ${TOKEN}` };
  let figures: Omit<ServerFigures, 'downloads'>;
  const edit = async () => {
    const started = performance.now();
    const form = new FormData();
    form.append('settings', settings);
    form.append('source', new Blob([inputs.source.slice()], { type: 'image/png' }), 'source.png');
    form.append('exemplar', new Blob([inputs.exemplar.slice()], { type: 'image/png' }), 'exemplar.png');
    const submitted = await fetch(`${url}/v1/edits`, { method: 'POST', body: form, headers });
    if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
    const submit = SubmitResponse.parse(await submitted.json());
    const last = await lastEventType(await fetch(`${url}${submit.eventsUrl}`, { headers }));
    if (last !== 'done') throw new Error(`the bench edit ended with '${last}'`);
    const result = await fetch(`${url}${submit.jobUrl}/result`, { headers });
    await result.arrayBuffer();
    const roundTripMs = performance.now() - started;
    const engineMs = Number(/engine;dur=([\d.]+)/.exec(result.headers.get('Server-Timing') ?? '')?.[1]);
    return { roundTripMs, engineMs };
  };
  try {
    // The hostile bodies first, four at once, on the fresh server: the upload gauge is the largest
    // since start, so it then holds these bodies alone, with the upload path's first-call costs
    // (compiling the parser, Node's lazily built errors): an upper bound for a warm server's.
    const hostile = millionPartBody();
    const statuses = await Promise.all(
      Array.from({ length: 4 }, () =>
        postRaw(url, { ...headers, 'Content-Type': 'multipart/form-data; boundary=b' }, hostile),
      ),
    );
    const millionPart = await requestStallMs(url, headers, 'upload');
    await edit(); // warm-up: model load and first-call costs stay out of the overhead
    const measured = [];
    for (let run = 0; run < runs; run++) measured.push(await edit());
    const metrics = await (await fetch(`${url}/metrics`, { headers })).text();
    const gauge = (name: string) => {
      const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1];
      return value === undefined ? undefined : Number(value) * 1000;
    };
    const overheads = measured.map((run) => run.roundTripMs - run.engineMs);
    figures = {
      millionPartStallMs: millionPart.wall,
      millionPartBusyStallMs: millionPart.busy,
      millionPartStatus: Math.max(...statuses),
      size,
      runs,
      roundTripMs: median(measured.map((run) => run.roundTripMs)),
      engineMs: median(measured.map((run) => run.engineMs)),
      overheadMs: median(overheads),
      overheadMaxMs: Math.max(...overheads),
      maxStallMs: gauge('pixels_event_loop_stall_max_seconds') ?? Number.NaN,
      maxBusyStallMs: gauge('pixels_event_loop_busy_stall_max_seconds'),
      loadAverage: loadavg()[0],
    };
  } finally {
    await stopServeProcess(child);
  }
  // The downloads' stall is the largest of one short burst, so it swings from run to run: each
  // round runs on a fresh server (whose gauge then holds that round alone), and the median counts.
  const downloads: DownloadRound[] = [];
  for (let round = 0; round < DOWNLOAD_ROUNDS; round++) {
    const server = await startServeProcess(options.modelsDir);
    try {
      downloads.push(await largeResultDownloads(server.url, headers));
    } finally {
      await stopServeProcess(server.child);
    }
  }
  return { ...figures, downloads };
}

type DownloadRound = Awaited<ReturnType<typeof largeResultDownloads>>;

/** Rounds of the 8 large downloads, each on a fresh server. */
const DOWNLOAD_ROUNDS = 3;

async function stopServeProcess(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** One edit of a 2048x2048 noise source (a ~14 MB result), then 8 clients download it at once. */
async function largeResultDownloads(url: string, headers: Record<string, string>) {
  const side = 2048;
  const noise = async (alphaOf: (i: number) => number) => {
    const data = new Uint8Array(randomBytes(side * side * 4));
    for (let i = 0; i < side * side; i++) data[i * 4 + 3] = alphaOf(i);
    return encodePng({ data, width: side, height: side, channels: 4 });
  };
  const form = new FormData();
  form.append('settings', JSON.stringify({ steps: 2, strength: 0.5, seed: 1 }));
  form.append('source', new Blob([(await noise(() => 255)).slice()], { type: 'image/png' }), 'source.png');
  const exemplar = await noise((i) => (i % side >= side * 0.75 ? 255 : 0));
  form.append('exemplar', new Blob([exemplar.slice()], { type: 'image/png' }), 'exemplar.png');
  const submitted = await fetch(`${url}/v1/edits`, { method: 'POST', body: form, headers });
  if (submitted.status !== 202) throw new Error(`large submit answered ${submitted.status}: ${await submitted.text()}`);
  const submit = SubmitResponse.parse(await submitted.json());
  const last = await lastEventType(await fetch(`${url}${submit.eventsUrl}`, { headers }));
  if (last !== 'done') throw new Error(`the large edit ended with '${last}'`);

  const resultUrl = `${url}${submit.jobUrl}/result`;
  const sizes = await Promise.all(Array.from({ length: 8 }, () => countDownload(resultUrl, headers)));
  if (sizes.some((bytes) => bytes !== sizes[0]))
    throw new Error(`the 8 downloads differ in length: ${sizes.join(', ')}`);
  // The gauge is the largest since the server started; on a fresh server that is these downloads.
  return { stall: await requestStallMs(url, headers, 'download'), bytes: sizes[0] };
}

/**
 * Downloads with node:http and counts the bytes: a light client, because the 8 clients share this
 * machine's cores with the server (fetch's web-stream reader costs several times the CPU per
 * chunk), and the figure is the server's stall, not the clients'. Real clients are elsewhere.
 */
function countDownload(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`the large download answered ${response.statusCode}`));
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      response.on('end', () => resolve(bytes));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(120_000, () => request.destroy(new Error('the large download timed out')));
  });
}

/** The figures as bench rows, with the targets (overhead ≤ 50 ms, stall ≤ 20 ms). */
export function serverBenchRows(figures: ServerFigures): ServerBenchRow[] {
  return [
    {
      figure: `server round trip, ${figures.size}x${figures.size} (median of ${figures.runs})`,
      value: `${figures.roundTripMs.toFixed(0)} ms`,
    },
    { figure: 'engine time inside it (median)', value: `${figures.engineMs.toFixed(0)} ms` },
    {
      figure: 'server overhead: round trip minus engine (median)',
      value: `${figures.overheadMs.toFixed(1)} ms (worst ${figures.overheadMaxMs.toFixed(1)} ms)`,
      target: '≤ 50 ms',
      pass: figures.overheadMs <= 50,
    },
    {
      figure: "server HTTP thread's longest busy stall while jobs ran (its own CPU time in one loop turn)",
      value:
        figures.maxBusyStallMs === undefined
          ? 'not measurable here (Linux only)'
          : `${figures.maxBusyStallMs.toFixed(1)} ms`,
      target: '≤ 20 ms',
      ...(figures.maxBusyStallMs === undefined ? {} : { pass: figures.maxBusyStallMs <= 20 }),
    },
    {
      figure: `server event loop's largest wall-clock stall while jobs ran, incl. waiting for a core (load average ${figures.loadAverage.toFixed(1)})`,
      value: `${figures.maxStallMs.toFixed(1)} ms`,
      target: '≤ 20 ms',
      pass: figures.maxStallMs <= 20,
    },
    ...stallRows(
      `refusing four 48 MB bodies of a million empty parts at once (answered ${figures.millionPartStatus})`,
      figures.millionPartBusyStallMs,
      figures.millionPartStallMs,
      figures.millionPartStatus === 413,
    ),
    ...downloadRows(figures.downloads),
  ];
}

/** The stall rows of the 8 large downloads: the median of the rounds, each round listed. */
function downloadRows(rounds: DownloadRound[]): ServerBenchRow[] {
  const walls = rounds.map((round) => round.stall.wall);
  const busy = rounds.map((round) => round.stall.busy);
  return stallRows(
    `8 clients download one ${(rounds[0].bytes / 2 ** 20).toFixed(1)} MiB result at once (median of ${rounds.length} rounds on fresh servers: ${walls.map((ms) => ms.toFixed(1)).join(', ')} ms)`,
    busy.every((value) => value !== undefined) ? median(busy as number[]) : undefined,
    median(walls),
    true,
  );
}

/** A busy-stall row (our code holding the HTTP thread) and a wall-clock row (incl. waiting for a core). */
function stallRows(during: string, busyMs: number | undefined, wallMs: number, ok: boolean): ServerBenchRow[] {
  return [
    {
      figure: `server HTTP thread's longest busy stall while ${during}`,
      value: busyMs === undefined ? 'not measurable here (Linux only)' : `${busyMs.toFixed(1)} ms`,
      target: '≤ 20 ms',
      ...(busyMs === undefined ? {} : { pass: ok && busyMs <= 20 }),
    },
    {
      figure: `server event loop's largest wall-clock stall while ${during}, incl. waiting for a core`,
      value: `${wallMs.toFixed(1)} ms`,
      target: '≤ 20 ms',
      pass: ok && wallMs <= 20,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchServer({
    modelsDir: process.env.PIXELS_MODELS_DIR ?? join(ROOT, 'models'),
    fixturesDir: join(ROOT, 'test', 'fixtures', 'images'),
  });
  console.table(serverBenchRows(figures));
}
