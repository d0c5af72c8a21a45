/**
 * A local stand-in for the Hugging Face Hub, serving model folders in the Hub's URL layout:
 * `GET /api/models/{repo}/revision/{rev}?blobs=true` lists files with sizes and hashes (sha256 for
 * LFS files, the git blob id for others), `GET /{repo}/resolve/{rev}/{path}` serves them, LFS
 * files through a redirect to `/cdn/{sha256}` as the real Hub does, with Range support. Faults can
 * be injected: a connection cut after N bytes, or corrupted bytes.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';

export interface FakeRepository {
  id: string;
  commit: string;
  /** A local folder whose files are the repository's files. */
  dir: string;
}

interface RepositoryFile {
  path: string;
  bytes: Buffer;
  lfs: boolean;
  sha256: string;
  blobId: string;
}

export interface FakeHub {
  endpoint: string;
  /** Every request: its URL path, the repository file it served (resolve and CDN requests) and its Range header. */
  requests: { path: string; file?: string; range?: string }[];
  /** For the next `times` responses for `path`, drops the connection once byte `bytes` of the file is sent. */
  interrupt(path: string, bytes: number, times: number): void;
  /** Serves `path` with one byte changed, so its hash no longer matches. */
  corrupt(path: string): void;
  close(): Promise<void>;
}

const LFS_EXTENSIONS = ['.onnx', '.onnx_data', '.data', '.pb', '.safetensors', '.bin'];

async function filesOf(dir: string, root = dir): Promise<RepositoryFile[]> {
  const files: RepositoryFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesOf(path, root)));
    else {
      const bytes = await readFile(path);
      const gitBlob = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
      files.push({
        path: relative(root, path).split(sep).join('/'),
        bytes,
        lfs: LFS_EXTENSIONS.some((extension) => entry.name.endsWith(extension)),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        blobId: gitBlob,
      });
    }
  }
  return files;
}

export async function startFakeHub(repositories: FakeRepository[]): Promise<FakeHub> {
  const contents = new Map<string, { repository: FakeRepository; files: RepositoryFile[] }>();
  for (const repository of repositories)
    contents.set(repository.id, { repository, files: await filesOf(repository.dir) });
  const interruptions = new Map<string, { bytes: number; times: number }>();
  const corrupted = new Set<string>();
  const requests: FakeHub['requests'] = [];

  const serveBytes = (request: IncomingMessage, response: ServerResponse, key: string, file: RepositoryFile) => {
    let bytes = file.bytes;
    if (corrupted.has(key)) {
      bytes = Buffer.from(bytes);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const body = bytes.subarray(start);
    response.writeHead(range ? 206 : 200, {
      'content-length': body.length,
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    const cut = interruptions.get(key);
    if (cut && cut.times > 0) {
      cut.times--;
      // Send up to byte `cut.bytes` of the file, let the client read it, then drop the connection.
      response.write(body.subarray(0, Math.max(0, cut.bytes - start)), () => {
        setTimeout(() => response.socket?.destroy(), 100);
      });
      return;
    }
    response.end(body);
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://hub');
    const path = decodeURIComponent(url.pathname);
    requests.push({ path, ...(request.headers.range ? { range: request.headers.range } : {}) });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api) {
      const entry = contents.get(api[1]);
      if (!entry || (api[2] !== 'main' && api[2] !== entry.repository.commit)) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Repository not found"}');
        return;
      }
      const siblings = entry.files.map((file) =>
        file.lfs
          ? {
              rfilename: file.path,
              size: file.bytes.length,
              blobId: file.blobId,
              lfs: { sha256: file.sha256, size: file.bytes.length, pointerSize: 134 },
            }
          : { rfilename: file.path, size: file.bytes.length, blobId: file.blobId },
      );
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: entry.repository.id, sha: entry.repository.commit, siblings }));
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      requests[requests.length - 1].file = resolve[3];
      const entry = contents.get(resolve[1]);
      const file = entry?.files.find((candidate) => candidate.path === resolve[3]);
      if (!entry || !file || resolve[2] !== entry.repository.commit) {
        response.writeHead(404).end('Entry not found');
        return;
      }
      if (file.lfs) {
        response
          .writeHead(302, {
            location: `/cdn/${file.sha256}?repo=${encodeURIComponent(entry.repository.id)}&path=${encodeURIComponent(file.path)}`,
          })
          .end();
        return;
      }
      serveBytes(request, response, file.path, file);
      return;
    }
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    const entry = contents.get(url.searchParams.get('repo') ?? '');
    const file = entry?.files.find((candidate) => candidate.path === url.searchParams.get('path'));
    if (cdn && file && file.sha256 === cdn[1]) {
      requests[requests.length - 1].file = file.path;
      serveBytes(request, response, file.path, file);
      return;
    }
    response.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    interrupt: (path, bytes, times) => interruptions.set(path, { bytes, times }),
    corrupt: (path) => corrupted.add(path),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
