import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (server/src/cli → ../../..), where `models/` lives by default. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The folder the user ran the command from. `pnpm pixels` runs the script at the repository root
 * and passes the caller's folder as INIT_CWD; run directly, it is the process's own.
 */
export function userDirectory(): string {
  return process.env.INIT_CWD || process.cwd();
}

/** A path as the user meant it: relative paths are taken from the folder the command was run from. */
export function resolveUserPath(path: string): string {
  return resolve(userDirectory(), path);
}

export const DEFAULT_MODELS_DIR = process.env.PIXELS_MODELS_DIR
  ? resolveUserPath(process.env.PIXELS_MODELS_DIR)
  : join(REPO_ROOT, 'models');

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

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    default:
      return String(code ?? (error as Error).message);
  }
}

/**
 * Checks, before any work, that a result can be written at `path`: its folder exists and a file
 * can be created in it (tried with a probe file, the way the result itself is written later).
 */
export async function checkWritable(path: string, flag: string): Promise<void> {
  const folder = dirname(path);
  const folderInfo = await stat(folder).catch(() => undefined);
  if (!folderInfo) throw new CliError(`${flag} ${path}: the folder ${folder} does not exist; create it first.`);
  if (!folderInfo.isDirectory()) throw new CliError(`${flag} ${path}: ${folder} is not a folder.`);
  if ((await stat(path).catch(() => undefined))?.isDirectory())
    throw new CliError(`${flag} ${path}: that is a folder; name the file to write.`);
  const probe = join(folder, `.${basename(path)}.${process.pid}.check`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (error) {
    throw new CliError(
      `${flag} ${path}: cannot write in ${folder} (${reasonOf(error)}); choose a folder you can write to.`,
    );
  } finally {
    await rm(probe, { force: true });
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
