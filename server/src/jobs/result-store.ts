import { mkdir, mkdtemp, open, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDownload } from './file-download.ts';

/** A finished image as the store keeps it: once, on disk. */
export interface StoredResult {
  file: string;
  bytes: number;
}

/** Where downloads read a stored result from (a folder here; Redis keys for the Redis engine). */
export interface ResultReader {
  /**
   * Rejects when the result is gone (deleted or expired). `onEnd` is called once: true when the
   * result was read to its end, false when reading failed or the client went away.
   */
  openStream(result: StoredResult, onEnd?: (completed: boolean) => void): Promise<ReadableStream<Uint8Array>>;
}

/**
 * Finished results, one PNG file per job in one folder, so memory does not grow with them and
 * every download streams the same file (no copy per client). Without a folder named, the store
 * makes a temporary `pixels-results-*` folder at its first result and removes it on close; a
 * folder the admin names is kept, and only the files this process wrote are removed.
 */
export class ResultStore implements ResultReader {
  private readonly files = new Set<string>();
  private folder: Promise<string> | undefined;

  constructor(private readonly namedFolder?: string) {}

  private ensureFolder(): Promise<string> {
    this.folder ??= this.namedFolder
      ? mkdir(this.namedFolder, { recursive: true }).then(() => this.namedFolder!)
      : mkdtemp(join(tmpdir(), 'pixels-results-'));
    return this.folder;
  }

  /** Writes the PNG (off the event loop, in libuv's pool); the caller drops its copy after. */
  async save(jobId: string, png: Uint8Array): Promise<StoredResult> {
    const file = join(await this.ensureFolder(), `${jobId}.png`);
    await writeFile(file, png);
    this.files.add(file);
    return { file, bytes: png.byteLength };
  }

  /**
   * Opens the file for one download, read on demand a chunk ahead of the client: each download
   * reads the disk (the page cache), so memory per download is two chunks, never a copy.
   * (Readable.toWeb would queue up to 65536 chunks ahead of a slow client: the whole file.) The
   * Node listener writes it to the socket from reused buffers (FileDownload.writeTo).
   * `onEnd` is called once: with true when the file was read to its end, false when reading
   * failed or the client went away (told here, so no second stream per download is needed).
   */
  async openStream(
    result: StoredResult,
    onEnd: (completed: boolean) => void = () => {},
  ): Promise<ReadableStream<Uint8Array>> {
    return new FileDownload(await open(result.file, 'r'), onEnd).stream;
  }

  /** Deletes a result (a download in flight keeps reading its open file). */
  async remove(result: StoredResult): Promise<void> {
    this.files.delete(result.file);
    await unlink(result.file).catch(() => {});
  }

  async close(): Promise<void> {
    const folder = this.folder && (await this.folder.catch(() => undefined));
    if (folder && !this.namedFolder) await rm(folder, { recursive: true, force: true });
    else await Promise.all([...this.files].map((file) => unlink(file).catch(() => {})));
    this.files.clear();
    this.folder = undefined;
  }
}
