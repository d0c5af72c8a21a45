import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEAM_TOKENS } from './app-harness.ts';
import { TEST_MODELS_DIR } from './live-server.ts';

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

/** GET over https trusting only the test certificate. */
function httpsGet(
  url: string,
  ca: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    request(url, { ca, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolveGet({ status: response.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
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
