/**
 * One resumable, verified download: bytes go to `<target>.incomplete`, continuing from what is
 * already there with an HTTP Range request; the finished file is checked against the size and hash
 * the Hub reported and only then renamed to `target`.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PixelsError } from '@pixels/shared';
import { INCOMPLETE_SUFFIX } from '../models/model-folder.ts';
import { authorization, type HubConnection, type HubFile } from './hub-client.ts';

const ATTEMPTS = 4;

/** The hash the Hub reports for a file, started on the git blob header when it is a git object id. */
function startHash(file: HubFile): { hash: Hash; expected: string } | undefined {
  if (file.sha256) return { hash: createHash('sha256'), expected: file.sha256 };
  if (file.gitBlobId) {
    const hash = createHash('sha1');
    hash.update(`blob ${file.size}\0`);
    return { hash, expected: file.gitBlobId };
  }
  return undefined;
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (stats) => stats.size,
    () => 0,
  );
}

/** Hashes the bytes already on disk, so a resumed download is checked whole. */
async function hashExisting(path: string, hash: Hash | undefined): Promise<void> {
  if (!hash) return;
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

export interface DownloadProgress {
  /** Bytes of this file now on disk. */
  bytes: number;
}

/** A download that stopped partway: worth another try from where it stopped. */
class InterruptedDownload extends Error {}

async function attempt(
  connection: HubConnection,
  url: string,
  file: HubFile,
  partial: string,
  onProgress: (progress: DownloadProgress) => void,
): Promise<void> {
  let offset = await sizeOf(partial);
  if (offset > file.size) {
    await rm(partial);
    offset = 0;
  }
  const check = startHash(file);
  const headers: Record<string, string> = { ...authorization(connection) };
  if (offset > 0 && offset < file.size) headers.range = `bytes=${offset}-`;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    if (offset < file.size) {
      let response: Response;
      try {
        response = await fetch(url, { headers, redirect: 'follow' });
      } catch (error) {
        throw new InterruptedDownload((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
      }
      if (response.status !== 200 && response.status !== 206) {
        throw new PixelsError(
          'model_error',
          `${url}: the Hub answered ${response.status} ${response.statusText} for ${file.path}; try again later.`,
        );
      }
      if (response.status === 200) offset = 0; // the server ignored the range: start over
      handle = await open(partial, offset === 0 ? 'w' : 'a');
      if (offset > 0) await hashExisting(partial, check?.hash);
      let written = offset;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          await handle.write(chunk);
          check?.hash.update(chunk);
          written += chunk.byteLength;
          onProgress({ bytes: written });
        }
      } catch (error) {
        throw new InterruptedDownload(
          `the connection dropped after ${written} of ${file.size} bytes (${(error as Error).message})`,
        );
      }
      if (written < file.size)
        throw new InterruptedDownload(`the connection closed after ${written} of ${file.size} bytes`);
    } else await hashExisting(partial, check?.hash);
  } finally {
    await handle?.close();
  }
  const size = await sizeOf(partial);
  if (size !== file.size) {
    await rm(partial, { force: true });
    throw new InterruptedDownload(`got ${size} bytes, the Hub lists ${file.size}`);
  }
  if (check) {
    const actual = check.hash.digest('hex');
    if (actual !== check.expected) {
      await rm(partial, { force: true });
      throw new InterruptedDownload(`its hash is ${actual}, the Hub lists ${check.expected}`);
    }
  }
}

/**
 * Downloads `file` to `target`, resuming a previous `.incomplete` file, retrying interrupted
 * transfers, and verifying size and hash before the file takes its name.
 * @throws PixelsError('model_error') when the file cannot be fetched intact
 */
export async function downloadFile(
  connection: HubConnection,
  url: string,
  file: HubFile,
  target: string,
  onProgress: (progress: DownloadProgress) => void,
): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}${INCOMPLETE_SUFFIX}`;
  let lastProblem = '';
  for (let tries = 1; tries <= ATTEMPTS; tries++) {
    try {
      await attempt(connection, url, file, partial, onProgress);
      await rename(partial, target);
      return;
    } catch (error) {
      if (!(error instanceof InterruptedDownload)) throw error;
      lastProblem = error.message;
    }
  }
  throw new PixelsError(
    'model_error',
    `${file.path}: the download failed ${ATTEMPTS} times (last: ${lastProblem}); run the same pull again to resume.`,
  );
}
