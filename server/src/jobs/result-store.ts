import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** A finished image as the store keeps it: once, on disk. */
export interface StoredResult {
  file: string;
  bytes: number;
}

/**
 * Finished results, one PNG file per job in one folder, so memory does not grow with them and
 * every download streams the same file (no copy per client). Without a folder named, the store
 * makes a temporary `pixels-results-*` folder at its first result and removes it on close; a
 * folder the admin names is kept, and only the files this process wrote are removed.
 */
export class ResultStore {
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

  /** The file as a web stream in 64 KiB chunks: each download reads the disk (page cache), never a copy in memory. */
  stream(result: StoredResult): ReadableStream<Uint8Array> {
    return Readable.toWeb(createReadStream(result.file, { highWaterMark: 64 * 1024 })) as ReadableStream<Uint8Array>;
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
