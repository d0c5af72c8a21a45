import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingProviderLibraries } from '@pixels/server/models/onnx-runtime.ts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editForm, TEAM_TOKENS } from '../http/app-harness.ts';
import { TEST_MODELS_DIR } from '../http/live-server.ts';
import { discPng, gradientPng } from '../http/png-bytes.ts';
import { readEventStream } from '../http/sse-client.ts';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
/** A self-signed certificate for localhost and 127.0.0.1, made for these tests only (openssl req -x509). */
const CERT = join(REPO_ROOT, 'test/server/http/fixtures/localhost-cert.pem');
const KEY = join(REPO_ROOT, 'test/server/http/fixtures/localhost-key.pem');

interface Launched {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string;
  exit: Promise<number | null>;
}

/** `pixels serve …` as a user runs it (through tsx, from the repository root). */
function launch(args: string[], env: Record<string, string> = {}): Launched {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli/main.ts', 'serve', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const launched: Launched = {
    child,
    lines: [],
    stderr: '',
    exit: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code))),
  };
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) launched.lines.push(JSON.parse(line));
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    launched.stderr += chunk;
  });
  return launched;
}

async function listeningUrl(launched: Launched): Promise<string> {
  for (let waited = 0; waited < 60_000; waited += 50) {
    const line = launched.lines.find((entry) => entry.msg === 'listening');
    if (line) return String(line.url);
    if (launched.child.exitCode !== null) throw new Error(`serve exited early: ${launched.stderr}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  throw new Error('serve did not start listening within 60 s');
}

/** The nice value of each thread of process `pid` (Linux), by thread id. */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    nices.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nices;
}

/** A request over https trusting only the test certificate; the body is read whole. */
function httpsRequest(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer }> {
  return new Promise((resolveRequest, reject) => {
    request(url, { ca, method: options.method ?? 'GET', headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolveRequest({ status: response.statusCode!, headers: response.headers, bytes: Buffer.concat(chunks) }),
      );
    })
      .on('error', reject)
      .end(options.body);
  });
}

/** GET over https trusting only the test certificate. */
async function httpsGet(
  url: string,
  ca: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { status, bytes } = await httpsRequest(url, ca, { headers });
  return { status, body: bytes.toString('utf8') };
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'pixels-serve-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('pixels serve', () => {
  it('serves https with a tokens file, and stops on SIGTERM with exit status 0', async () => {
    const tokensFile = join(scratch, 'tokens.json');
    await writeFile(tokensFile, JSON.stringify({ tokens: TEAM_TOKENS.slice(0, 2) }));
    const launched = launch(['--port', '0', '--tls-cert', CERT, '--tls-key', KEY, '--tokens-file', tokensFile], {
      PIXELS_MODELS_DIR: TEST_MODELS_DIR,
      PIXELS_DEVICES: 'cpu',
    });
    try {
      const url = await listeningUrl(launched);
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(CERT);
      expect((await httpsGet(`${url}/healthz`, ca)).status).toBe(200);
      expect((await httpsGet(`${url}/v1/models`, ca)).status).toBe(401);
      const models = await httpsGet(`${url}/v1/models`, ca, { Authorization: `Bearer ${TEAM_TOKENS[1].token}` });
      expect(models.status).toBe(200);
      expect(JSON.parse(models.body).models[0].name).toBe('builtin');
      // An edit's result comes back whole over TLS (the listener writes it from the file into the TLS socket).
      const auth = { Authorization: `Bearer ${TEAM_TOKENS[1].token}` };
      const form = new Response(
        editForm({ settings: { steps: 1, strength: 0.5 }, source: gradientPng(64, 64), exemplars: [discPng(64, 64)] }),
      );
      const submitted = await httpsRequest(`${url}/v1/edits`, ca, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': form.headers.get('content-type')! },
        body: Buffer.from(await form.arrayBuffer()),
      });
      expect(submitted.status).toBe(202);
      const job = JSON.parse(submitted.bytes.toString('utf8'));
      expect((await httpsGet(`${url}${job.eventsUrl}`, ca, auth)).body).toMatch(/^event: done$/m);
      const result = await httpsRequest(`${url}${job.jobUrl}/result`, ca, { headers: auth });
      expect(result.status).toBe(200);
      expect(result.headers['content-length']).toBe(String(result.bytes.length));
      const decoded = await sharp(result.bytes).raw().toBuffer({ resolveWithObject: true });
      expect([decoded.info.width, decoded.info.height]).toEqual([64, 64]);
      if (process.platform === 'linux') {
        // The edit worker thread runs at --worker-nice (default 10); the HTTP (main) thread keeps its priority.
        const nices = threadNices(launched.child.pid!);
        const ownNice = threadNices(process.pid).get(process.pid)!;
        expect(nices.get(launched.child.pid!)).toBe(ownNice);
        expect([...nices.values()].filter((nice) => nice === Math.min(19, ownNice + 10)).length).toBeGreaterThan(0);
      }
    } finally {
      launched.child.kill('SIGTERM');
    }
    expect(await launched.exit).toBe(0);
    expect(launched.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['listening', 'signal received', 'stopped']),
    );
    expect(launched.lines.every((line) => typeof line.time === 'string' && typeof line.level === 'string')).toBe(true);
  });

  it('refuses to listen beyond loopback without tokens, and says why', async () => {
    const launched = launch(['--host', '0.0.0.0', '--port', '0']);
    expect(await launched.exit).toBe(2);
    expect(launched.stderr).toContain('Refusing to listen on 0.0.0.0 without tokens');
    expect(launched.stderr).toContain('--insecure');
  });

  it('rejects a bad flag with a message that names it, and prints help on --help', async () => {
    const bad = launch(['--max-steps', '9000']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr).toContain('--max-steps (PIXELS_MAX_STEPS) must be a whole number from 1 to 150');
    const help = launch(['--help']);
    let out = '';
    help.child.stdout!.on('data', (chunk: string) => {
      out += chunk;
    });
    expect(await help.exit).toBe(0);
    expect(out).toContain('usage: pixels serve');
  });
});

/** Here the CUDA provider libraries are not installed (and there is no GPU), so asking for CUDA must fail. */
const hasCudaLibraries = missingProviderLibraries('cuda').length === 0;

describe('pixels serve --devices: every device is probed before the server listens', () => {
  const cpuServer = { PIXELS_MODELS_DIR: TEST_MODELS_DIR };

  it.skipIf(hasCudaLibraries)(
    'a GPU that cannot start stops the server: exit 1, the device and the fix named, no listening line',
    async () => {
      const launched = launch(['--port', '0', '--devices', 'cuda:0'], cpuServer);
      expect(await launched.exit).toBe(1);
      expect(launched.stderr).toMatch(
        /^pixels serve: Not starting: its device cannot start\.\nworker 1: --devices cuda:0: onnxruntime-node's CUDA provider libraries are not installed \(.*\): install them with ONNXRUNTIME_NODE_INSTALL=cuda12 .*\nFix the device, leave it out of --devices, or add --devices-fallback/,
      );
      expect(launched.stderr).not.toMatch(/--device cuda|invalid_settings/);
      expect(launched.lines.map((line) => line.msg)).not.toContain('listening');
    },
  );

  it('--devices-fallback drops the device that cannot start, with a warning, and serves edits on the rest', async () => {
    // GPU 63 exists nowhere, so this fails on GPU machines too.
    const launched = launch(['--port', '0', '--devices', 'cpu,cuda:63', '--devices-fallback'], cpuServer);
    try {
      const url = await listeningUrl(launched);
      const dropped = launched.lines.find((line) => line.msg === 'device dropped: it cannot start');
      expect(dropped).toMatchObject({ level: 'warn', worker: 2, error: expect.stringMatching(/^--devices cuda:63: /) });
      expect(launched.lines.find((line) => line.msg === 'worker ready')).toMatchObject({
        worker: 1,
        device: 'cpu',
        providers: 'cpu',
      });
      expect(launched.lines.find((line) => line.msg === 'listening')).toMatchObject({ workers: 1, devices: ['cpu'] });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', workers: 1 });
      const form = editForm({
        settings: { steps: 2, strength: 0.5 },
        source: gradientPng(64, 64),
        exemplars: [discPng(64, 64)],
      });
      const submitted = await (await fetch(`${url}/v1/edits`, { method: 'POST', body: form })).json();
      const events = await readEventStream(await fetch(`${url}${submitted.eventsUrl}`));
      expect(events.at(-1)?.event.type).toBe('done');
    } finally {
      launched.child.kill('SIGTERM');
    }
    expect(await launched.exit).toBe(0);
  });

  it('--devices-fallback with no device left still refuses to start', async () => {
    const launched = launch(['--port', '0', '--devices', 'cuda:62,cuda:63', '--devices-fallback'], cpuServer);
    expect(await launched.exit).toBe(1);
    expect(launched.stderr).toMatch(
      /^pixels serve: Not starting: none of its devices can start\.\nworker 1: --devices cuda:62: .*\nworker 2: --devices cuda:63: .*\nFix a device or leave the broken ones out of --devices/,
    );
    expect(launched.lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['device dropped: it cannot start']));
    expect(launched.lines.map((line) => line.msg)).not.toContain('listening');
  });

  it('auto starts on CPU when CUDA cannot, and says why', async () => {
    const launched = launch(['--port', '0', '--devices', 'auto'], cpuServer);
    try {
      const url = await listeningUrl(launched);
      const ready = launched.lines.find((line) => line.msg === 'worker ready');
      if (hasCudaLibraries) expect(ready).toMatchObject({ reason: expect.stringMatching(/^auto: /) });
      else
        expect(ready).toMatchObject({
          device: 'cpu',
          reason: expect.stringMatching(
            /^auto: using CPU because onnxruntime-node's CUDA provider libraries are not installed/,
          ),
        });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      launched.child.kill('SIGTERM');
    }
    expect(await launched.exit).toBe(0);
  });

  it('a repeated bare cuda is refused before anything starts: each GPU is named by its index', async () => {
    const launched = launch(['--devices', 'cuda,cuda']);
    expect(await launched.exit).toBe(2);
    expect(launched.stderr).toContain("--devices 'cuda,cuda': name each GPU by its index, e.g. cuda:0,cuda:1");
  });
});
