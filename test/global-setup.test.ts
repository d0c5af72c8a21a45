import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import setup from './global-setup.ts';

/** Runs the global setup inside this test, as if it were a whole run, and gives back what it saw. */
async function asARun(during: (runTmp: string) => Promise<void>) {
  const outer = { tmpdir: tmpdir(), shared: process.env.PIXELS_TEST_SHARED_DIR };
  const exitCode = process.exitCode;
  const teardown = await setup();
  const runTmp = tmpdir();
  await during(runTmp);
  const failure = await teardown().then(
    () => undefined,
    (error: Error) => error,
  );
  const failedRun = process.exitCode === 1 && exitCode !== 1;
  process.exitCode = exitCode;
  expect(tmpdir()).toBe(outer.tmpdir);
  expect(process.env.PIXELS_TEST_SHARED_DIR).toBe(outer.shared);
  expect(existsSync(dirname(runTmp)), 'the run folder is removed').toBe(false);
  return { runTmp, outer, failure, failedRun };
}

describe('the global teardown', () => {
  it('gives the run its own temp folder, which child processes inherit', async () => {
    const { runTmp, outer, failure } = await asARun(async (runTmp) => {
      const child = spawnSync(process.execPath, ['-p', 'require("node:os").tmpdir()'], { encoding: 'utf8' });
      expect(child.stdout.trim()).toBe(runTmp);
      await mkdir(join(runTmp, 'tsx-0')); // other tools' caches are not ours to police
    });
    expect(runTmp.startsWith(outer.tmpdir)).toBe(true);
    expect(runTmp).not.toBe(outer.tmpdir);
    expect(failure).toBeUndefined();
  });

  it('fails the run, naming them, when pixels-* folders are left behind', async () => {
    const { failure, failedRun } = await asARun(async (runTmp) => {
      await mkdir(join(runTmp, 'pixels-forgotten-a1'));
      await mkdir(join(runTmp, 'pixels-forgotten-b2'));
    });
    expect(failure?.message).toMatch(/left 2 temp folders behind \(pixels-forgotten-a1, pixels-forgotten-b2\)/);
    expect(failedRun).toBe(true);
  });
});
