import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every test removes the temp folders it creates. To check that without counting other processes'
 * folders, each run gets its own temp folder: TMPDIR points into it, so os.tmpdir() in every test
 * worker and every child process the tests start lands there. At the end, a `pixels-*` folder left
 * in it fails the run; the whole run folder is removed either way.
 *
 * PIXELS_TEST_SHARED_DIR is for what test files share on purpose (the live server's generated
 * built-in model): it lives as long as the run and is not a leak.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const original = { TMPDIR: process.env.TMPDIR, PIXELS_TEST_SHARED_DIR: process.env.PIXELS_TEST_SHARED_DIR };
  const runDir = await mkdtemp(join(tmpdir(), 'vitest-run-'));
  const runTmp = join(runDir, 'tmp');
  const shared = join(runDir, 'shared');
  await mkdir(runTmp);
  await mkdir(shared);
  process.env.TMPDIR = runTmp;
  process.env.PIXELS_TEST_SHARED_DIR = shared;

  return async () => {
    const left = (await readdir(runTmp)).filter((name) => name.startsWith('pixels-')).sort();
    await rm(runDir, { recursive: true, force: true });
    for (const [name, value] of Object.entries(original)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (left.length > 0) {
      // Vitest reports an error thrown here but still exits 0: set the exit status ourselves.
      process.exitCode = 1;
      throw new Error(
        `The tests left ${left.length} temp folder${left.length === 1 ? '' : 's'} behind (${left.join(', ')}). ` +
          'Every test must remove what it creates (see test/helpers/temp-dirs.ts).',
      );
    }
  };
}
