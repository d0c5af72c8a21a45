import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (server/src/cli → ../../..), where `models/` lives by default. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_MODELS_DIR = process.env.PIXELS_MODELS_DIR ?? join(REPO_ROOT, 'models');

/** An error whose message is the whole story for the user: printed as one line, exit status 1 or 2. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Reads an input file, naming the flag and the file when it cannot. */
export async function readInputFile(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder'
          : code === 'EACCES'
            ? 'permission denied'
            : String(code);
    throw new CliError(`${flag} ${path}: cannot read the file (${reason}).`);
  }
}

/** Writes a file whole or not at all: a temporary file beside it, renamed into place. */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(
      `--out ${path}: cannot write the result (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
    );
  }
}

/** A progress bar on a terminal; plain lines (one per step) elsewhere, so logs stay readable. */
export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr) {
  const isTerminal = stream.isTTY === true;
  return {
    step(step: number, total: number, elapsedMs: number) {
      const seconds = (elapsedMs / 1000).toFixed(1);
      if (!isTerminal) {
        stream.write(`step ${step}/${total} ${seconds}s\n`);
        return;
      }
      const width = 30;
      const filled = Math.round((step / total) * width);
      stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${step}/${total} ${seconds}s`);
      if (step === total) stream.write('\n');
    },
  };
}
