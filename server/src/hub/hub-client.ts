/**
 * The two Hugging Face Hub endpoints a download needs, as huggingface_hub uses them:
 * `GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true` lists the files of a commit with
 * their sizes and hashes (LFS files: sha256; others: the git blob sha1), and
 * `GET {endpoint}/{repo}/resolve/{revision}/{path}` serves a file (with Range; LFS files redirect
 * to a CDN).
 */
import { PixelsError } from '@pixels/shared';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface HubFile {
  /** Path inside the repository, '/'-separated. */
  path: string;
  size: number;
  /** LFS files: the sha256 of the content. */
  sha256?: string;
  /** Other files: the git blob id, sha1("blob <size>\0" + content). */
  gitBlobId?: string;
}

export interface HubRepository {
  repo: string;
  /** The commit the revision resolved to; downloads use it so every file comes from one commit. */
  commit: string;
  files: HubFile[];
}

export interface HubConnection {
  endpoint: string;
  /** Bearer token for gated or private repositories (HF_TOKEN). */
  token?: string;
}

export function authorization(connection: HubConnection): Record<string, string> {
  return connection.token ? { authorization: `Bearer ${connection.token}` } : {};
}

/** `owner/name`, as the Hub spells repository ids. */
export function checkRepoId(repo: string): void {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    throw new PixelsError(
      'bad_request',
      `'${repo}' is not a Hub repository id; expected owner/name, e.g. stabilityai/sd-turbo.`,
    );
  }
}

function trimEndpoint(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

/** The URL of one file at a commit. */
export function resolveUrl(connection: HubConnection, repo: string, commit: string, path: string): string {
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${trimEndpoint(connection.endpoint)}/${repo}/resolve/${encodeURIComponent(commit)}/${encodedPath}`;
}

interface SiblingJson {
  rfilename?: unknown;
  size?: unknown;
  blobId?: unknown;
  lfs?: { sha256?: unknown; size?: unknown } | null;
}

/**
 * Lists a repository's files at `revision` with sizes and hashes.
 * @throws PixelsError naming the repository, the HTTP status and what to do
 */
export async function fetchRepository(
  connection: HubConnection,
  repo: string,
  revision: string,
): Promise<HubRepository> {
  checkRepoId(repo);
  const url = `${trimEndpoint(connection.endpoint)}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let response: Response;
  try {
    response = await fetch(url, { headers: authorization(connection) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new PixelsError(
      'model_error',
      `cannot reach ${trimEndpoint(connection.endpoint)} (${cause}); check the network or set --endpoint / HF_ENDPOINT.`,
    );
  }
  if (!response.ok) {
    const hint =
      response.status === 401 || response.status === 403
        ? 'the repository is gated or private: accept its license on the Hub and set HF_TOKEN to a token with read access.'
        : response.status === 404
          ? `no repository '${repo}' with revision '${revision}'; check the id and --revision.`
          : 'try again later.';
    throw new PixelsError('model_error', `${url}: the Hub answered ${response.status} ${response.statusText}; ${hint}`);
  }
  const body = (await response.json()) as { sha?: unknown; siblings?: SiblingJson[] };
  if (typeof body.sha !== 'string' || !Array.isArray(body.siblings)) {
    throw new PixelsError(
      'model_error',
      `${url}: the answer has no commit or file list; is --endpoint a Hugging Face Hub?`,
    );
  }
  const files: HubFile[] = [];
  for (const sibling of body.siblings) {
    if (typeof sibling.rfilename !== 'string') continue;
    const lfs = sibling.lfs ?? undefined;
    const size = typeof lfs?.size === 'number' ? lfs.size : sibling.size;
    if (typeof size !== 'number') {
      throw new PixelsError(
        'model_error',
        `${url}: no size for ${sibling.rfilename}; the Hub did not send file metadata (blobs=true).`,
      );
    }
    files.push({
      path: sibling.rfilename,
      size,
      ...(typeof lfs?.sha256 === 'string' ? { sha256: lfs.sha256 } : {}),
      ...(typeof sibling.blobId === 'string' && !lfs ? { gitBlobId: sibling.blobId } : {}),
    });
  }
  return { repo, commit: body.sha, files };
}
