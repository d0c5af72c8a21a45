import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEditRunner } from '@pixels/server/edit/create-edit-runner.ts';
import type { EditRunner } from '@pixels/server/edit/edit-runner.ts';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '@pixels/server/http/server-limits.ts';
import { type RunningServer, startServer } from '@pixels/server/http/start-server.ts';
import { type TokenEntry, TokenRegistry } from '@pixels/server/http/tokens.ts';
import { BUILTIN_DESIGN } from '@pixels/server/models/builtin/index.ts';
import { createJsonLogger, type Logger } from '@pixels/server/observability/logger.ts';
import { SubmitResponse } from '@pixels/shared';
import { bearer, TEAM_TOKENS } from './app-harness.ts';

export interface LiveServer {
  url: string;
  server: RunningServer;
  logLines: Record<string, unknown>[];
  /** The bearer token of a team member. */
  tokenOf(name: string): string;
  /** fetch against the server with the given headers only. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** fetch against the server as the named token holder (no header for `undefined`). */
  fetchAs(name: string | undefined, path: string, init?: RequestInit): Promise<Response>;
  /** POST /v1/edits as `name`, expecting 202. */
  submit(name: string, form: FormData): Promise<SubmitResponse>;
  stop(): Promise<void>;
}

/**
 * One models folder for every server test file: the built-in model is generated once per run (the
 * generator moves a finished folder into place, so files racing to create it are safe). It lives in
 * the run's shared folder (test/global-setup.ts), removed when the run ends.
 */
export const TEST_MODELS_DIR = join(
  process.env.PIXELS_TEST_SHARED_DIR ?? tmpdir(),
  `server-test-models-v${BUILTIN_DESIGN.version}`,
);

/**
 * The whole team server on loopback with the real edit runner (one worker thread, the built-in
 * model), as `pixels serve` runs it.
 */
export async function startLiveServer(
  options: {
    limits?: Partial<ServerLimits>;
    tokens?: TokenEntry[];
    shutdownMs?: number;
    /** Runners instead of the real one (the supervision tests' fault injection, a large-result double). */
    runners?: (logger: Logger, limits: ServerLimits) => EditRunner[];
  } = {},
): Promise<LiveServer> {
  const modelsDir = TEST_MODELS_DIR;
  const logLines: Record<string, unknown>[] = [];
  const logger = createJsonLogger({ level: 'debug', write: (line) => logLines.push(JSON.parse(line)) });
  const limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    // One thread: test files run side by side on a 2-core machine.
    runners: options.runners?.(logger, limits) ?? [
      createEditRunner({ modelsDir, device: 'cpu', intraOpThreads: 1, limits, logger }),
    ],
    tokens: new TokenRegistry(options.tokens ?? TEAM_TOKENS),
    limits,
    shutdownMs: options.shutdownMs,
    logger,
  });
  const fetchAs = (name: string | undefined, path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: { ...(name ? bearer(name) : {}), ...(init.headers as Record<string, string> | undefined) },
    });
  return {
    url: server.url,
    server,
    logLines,
    fetch: (path, init) => fetch(`${server.url}${path}`, init),
    tokenOf: (name) => (options.tokens ?? TEAM_TOKENS).find((entry) => entry.name === name)!.token,
    fetchAs,
    async submit(name, form) {
      const response = await fetchAs(name, '/v1/edits', { method: 'POST', body: form });
      if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
      return SubmitResponse.parse(await response.json());
    },
    async stop() {
      await server.close();
    },
  };
}
