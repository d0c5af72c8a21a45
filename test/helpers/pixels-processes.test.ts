import { afterAll, describe, expect, it } from 'vitest';
import { TEST_MODELS_DIR } from '../server/http/live-server.ts';
import { freeLoopbackPort, PixelsProcesses } from './pixels-processes.ts';

describe('the process harness of the scale-out tests', () => {
  const processes = new PixelsProcesses({ PIXELS_MODELS_DIR: TEST_MODELS_DIR, PIXELS_DEVICES: 'cpu' });
  afterAll(() => processes.stopAll());

  it('starts `pixels serve` on a chosen port, sees its listening line, and kills it by its own pid', async () => {
    const port = await freeLoopbackPort();
    const serve = await processes.serve(['--port', String(port)]);
    expect(serve.url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);
    expect(serve.lines.map((line) => line.msg)).toContain('listening');
    expect(await serve.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(serve.running).toBe(false);
    await expect(fetch(`${serve.url}/healthz`)).rejects.toThrow();
  });

  it('a process that exits before its line rejects the wait, with what it printed', async () => {
    await expect(processes.serve(['--max-steps', '9000'])).rejects.toThrow(
      /serve#\d+ exited before listening line:\n--- serve#\d+ \(pid \d+, exited \(code 2, signal null\)\) ---\n\[stderr\] pixels serve: --max-steps/,
    );
  });
});
