import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '..', 'server', 'src', 'cli', 'main.ts');

/** Node arguments that run `pixels <args>` from the source tree, as `pnpm pixels` does. */
export function pixelsCliArgs(args: readonly string[]): string[] {
  return ['--import', 'tsx', MAIN, ...args];
}
