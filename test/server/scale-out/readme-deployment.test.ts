import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { SubmitResponse } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { REPO_ROOT } from '../../helpers/cli.ts';
import { freeLoopbackPort, PixelsProcesses } from '../../helpers/pixels-processes.ts';
import { tempDir } from '../../helpers/temp-dirs.ts';
import { bearer, TEAM_TOKENS } from '../http/app-harness.ts';
import { TEST_MODELS_DIR } from '../http/live-server.ts';
import { smallEditForm } from './job-ledger.ts';

/**
 * The server README's deployment commands, run as written on loopback: its Redis configuration
 * (a real redis-server started from it), then each layout's `pixels serve` and `pixels worker`
 * lines. Only what cannot be the same here is substituted, each by an explicit rule below: the
 * addresses and ports, the CPU for `cuda:N` (no GPU), and the test's tokens, certificate and models.
 */

const SECTION = 'Deployment: many GPUs and many machines on Redis';
const CERT = join(REPO_ROOT, 'test/server/http/fixtures/localhost-cert.pem');
const KEY = join(REPO_ROOT, 'test/server/http/fixtures/localhost-key.pem');

/** The fenced blocks of each `###` part of the README's deployment section, by its heading. */
function deploymentBlocks(): Map<string, { info: string; body: string }[]> {
  const readme = readFileSync(join(REPO_ROOT, 'server/README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith(`${SECTION}\n`));
  if (!section) throw new Error(`server/README.md has no "## ${SECTION}" section`);
  const blocks = new Map<string, { info: string; body: string }[]>();
  for (const part of section.split(/^### /m).slice(1)) {
    const heading = part.slice(0, part.indexOf('\n'));
    blocks.set(
      heading,
      [...part.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({ info: match[1], body: match[2] })),
    );
  }
  return blocks;
}

/** A block's `export NAME=VALUE` lines and its `pixels …` command lines (as argument lists); comments skipped. */
function shellLines(body: string): { env: Record<string, string>; commands: string[][] } {
  const lines = body
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const env: Record<string, string> = {};
  const commands: string[][] = [];
  for (const line of lines) {
    // Plain words only, so splitting on spaces is what a shell would do.
    expect(line, 'README command lines are plain words (no quotes, variables or continuations)').toMatch(
      /^[\w ./:@=,-]+$/,
    );
    const exported = /^export (\w+)=(\S+)$/.exec(line);
    if (exported) env[exported[1]] = exported[2];
    else if (line.startsWith('pixels ')) commands.push(line.split(/ +/).slice(1));
    else throw new Error(`a deployment line the test does not know how to run: ${line}`);
  }
  return { env, commands };
}

interface Loopback {
  redisPort: number;
  password: string;
  apiPort: number;
  tokensFile: string;
}

/** The substitutions, one rule per thing that differs on loopback. */
function onLoopback(args: string[], here: Loopback): string[] {
  return args.map((arg, index) => {
    const flag = args[index - 1];
    if (flag === '--redis') return redisOnLoopback(arg, here);
    if (flag === '--host') return '127.0.0.1';
    if (flag === '--port') return String(here.apiPort);
    if (flag === '--device') return arg.startsWith('cuda:') ? 'cpu' : arg;
    if (flag === '--tokens-file') return here.tokensFile;
    if (flag === '--tls-cert') return CERT;
    if (flag === '--tls-key') return KEY;
    if (flag === '--models') return TEST_MODELS_DIR;
    return arg;
  });
}

/** The README's Redis URL with the test Redis's port and the password from the README's configuration. */
function redisOnLoopback(url: string, here: Loopback): string {
  const parsed = new URL(url);
  expect(parsed.password, 'the README passes the Redis password in the URL').toBe('PASSWORD');
  expect(parsed.port).toBe('6379');
  return `redis://:${here.password}@127.0.0.1:${here.redisPort}`;
}

/** GET or POST over https trusting only the test certificate. */
function httpsRequest(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { ca, method: options.method ?? 'GET', headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode!, body }));
    });
    outgoing.setTimeout(60_000, () => outgoing.destroy(new Error(`${url}: no answer within 60 s`)));
    outgoing.on('error', reject).end(options.body);
  });
}

let redis: ChildProcess | undefined;
const processes = new PixelsProcesses();
let here: Loopback;
let ca: Buffer;

beforeAll(async () => {
  const blocks = deploymentBlocks();
  const [conf] = blocks.get('Redis configuration') ?? [];
  expect(conf?.info).toBe('conf');
  // What the deployment needs of Redis, as the README writes it.
  for (const line of ['appendonly yes', 'appendfsync everysec', 'maxmemory-policy noeviction', 'protected-mode yes'])
    expect(conf.body.split('\n')).toContain(line);
  const password = /^requirepass (\S+)$/m.exec(conf.body)?.[1];
  expect(password).toBeDefined();

  const dir = await tempDir('readme-redis');
  const redisPort = await freeLoopbackPort();
  const config = conf.body
    .replace(/^bind .*$/m, 'bind 127.0.0.1')
    .replace(/^port .*$/m, `port ${redisPort}`)
    .replace(/^dir .*$/m, `dir ${dir}`);
  await writeFile(join(dir, 'redis.conf'), config);
  redis = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore' });
  await answersOn(redisPort);
  const tokensFile = join(dir, 'tokens.json');
  await writeFile(tokensFile, JSON.stringify({ tokens: TEAM_TOKENS }));
  here = { redisPort, password: password!, apiPort: await freeLoopbackPort(), tokensFile };
  ca = await readFile(CERT);
});

afterAll(async () => {
  await processes.stopAll();
  if (redis && redis.exitCode === null) {
    const exited = once(redis, 'exit');
    redis.kill('SIGKILL');
    await exited;
  }
});

/** Waits (at most 10 s) until something answers a PING on the port (Redis with a password says NOAUTH). */
async function answersOn(port: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      const done = (answer: boolean) => {
        socket.destroy();
        resolve(answer);
      };
      socket.setTimeout(500, () => done(false));
      socket.once('data', () => done(true));
      socket.once('error', () => done(false));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server from the README's configuration did not answer on 127.0.0.1:${port}`);
}

/** Runs a layout's commands: the API node first, then its workers; checks it serves an edit over https. */
async function runLayout(heading: string, expectedWorkers: string[]): Promise<void> {
  onTestFailed(() => console.error(processes.report()));
  const blocks = deploymentBlocks().get(heading);
  expect(blocks?.map((block) => block.info)).toEqual(['sh']);
  const lines = shellLines(blocks![0].body);
  expect(Object.keys(lines.env)).toEqual(['PIXELS_REDIS_URL']);
  const env = { PIXELS_REDIS_URL: redisOnLoopback(lines.env.PIXELS_REDIS_URL, here) };
  const commands = lines.commands.map((args) => onLoopback(args, here));
  const serves = commands.filter((args) => args[0] === 'serve');
  const workers = commands.filter((args) => args[0] === 'worker');
  expect(serves).toHaveLength(1);
  expect(workers.map((args) => args[args.indexOf('--name') + 1])).toEqual(expectedWorkers);

  const serve = await processes.serve(serves[0].slice(1), env);
  expect(serve.url).toBe(`https://127.0.0.1:${here.apiPort}`);
  const started = await Promise.all(
    workers.map((args) => processes.worker(args[args.indexOf('--name') + 1], args.slice(1).filter(notName(args)), env)),
  );
  try {
    // Each worker announces itself on its first heartbeat: poll (bounded) until all are listed live.
    let names: string[] = [];
    for (let tries = 0; tries < 50 && !expectedWorkers.every((name) => names.includes(name)); tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 200));
      const listed = await httpsRequest(`${serve.url}/v1/workers`, ca, { headers: bearer('boss') });
      expect(listed.status, listed.body).toBe(200);
      names = (JSON.parse(listed.body).workers as { name: string; state: string }[])
        .filter((worker) => worker.state === 'live')
        .map((worker) => worker.name);
    }
    expect(names).toEqual(expect.arrayContaining(expectedWorkers));
    // Ready: Redis answers and at least one worker serves a model.
    expect((await httpsRequest(`${serve.url}/readyz`, ca)).status).toBe(200);

    const form = new Response(smallEditForm());
    const submitted = await httpsRequest(`${serve.url}/v1/edits`, ca, {
      method: 'POST',
      headers: { ...bearer('ana'), 'Content-Type': form.headers.get('Content-Type')! },
      body: Buffer.from(await form.arrayBuffer()),
    });
    expect(submitted.status, submitted.body).toBe(202);
    const job = SubmitResponse.parse(JSON.parse(submitted.body));
    const events = await httpsRequest(`${serve.url}${job.eventsUrl}`, ca, { headers: bearer('ana') });
    expect([...events.body.matchAll(/^event: (\w+)$/gm)].at(-1)?.[1]).toBe('done');
  } finally {
    await Promise.all([serve, ...started].map((started) => started.stop()));
  }
}

/** The harness adds `--name` itself: drop the README's pair from the rest of the arguments. */
function notName(args: string[]): (arg: string, index: number) => boolean {
  const at = args.indexOf('--name') - 1;
  return (_arg, index) => index !== at && index !== at + 1;
}

describe("server/README.md's deployment commands, run as written on loopback", { timeout: 240_000 }, () => {
  it('one box with two GPUs: the API node and a worker per GPU serve an edit over https', async () => {
    await runLayout('One box with two GPUs', ['box1-gpu0', 'box1-gpu1']);
  });

  it('an API box and three GPU boxes: the API node and three workers serve an edit over https', async () => {
    await runLayout('An API box and three GPU boxes', ['gpu1', 'gpu2', 'gpu3']);
  });
});
