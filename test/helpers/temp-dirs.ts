import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const created: string[] = [];

// Registered when a test file first imports this module, so it runs after that file's own
// afterAll hooks (hooks run in reverse order): servers and sessions are closed before their folders go.
afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh `pixels-<name>-*` folder in the temp folder, removed when the test file finishes. */
export async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `pixels-${name}-`));
  created.push(dir);
  return dir;
}
