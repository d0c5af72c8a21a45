import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket } from 'node:net';
import { tempDir } from './temp-dirs.ts';

/** Options for a Redis started by a test: AOF on as the deployment docs ask, unless a test says otherwise. */
export interface RedisServerOptions {
  appendOnly?: boolean;
}

/**
 * A real `redis-server` (Debian's package) on a loopback port with its own temp folder. It can be
 * stopped and started again on the same port and folder, which is how the fault tests restart Redis
 * with AOF on and drop every client's connection.
 */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Starts it again on the same port and folder after `stop()` (an AOF file is replayed). */
  start(): Promise<void>;
  /** Stops it by its own pid: SIGTERM (Redis writes what it must first), or SIGKILL when `hard`. */
  stop(options?: { hard?: boolean }): Promise<void>;
}

export async function startTestRedis(options: RedisServerOptions = {}): Promise<TestRedis> {
  const dir = await tempDir('redis');
  const port = await freeLoopbackPort();
  let child: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  const redis: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async start() {
      if (child) throw new Error('this test Redis is already running');
      const started = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      started.once('exit', () => {
        if (child === started) child = undefined;
      });
      await waitForPong(port, started);
    },
    async stop({ hard = false } = {}) {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = once(running, 'exit');
      running.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
  };
  await redis.start();
  return redis;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('no loopback port was free');
  return address.port;
}

async function waitForPong(port: number, child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${stderr.trim()}`);
    if (await answersPing(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within 10 s: ${stderr.trim()}`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}
