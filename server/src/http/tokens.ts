import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** Who is calling: the token's name owns the jobs it submits; admins may read and cancel any job. */
export interface Caller {
  name: string;
  role: 'user' | 'admin';
}

/** Shorter tokens are refused: a guessable token is no lock. */
export const MIN_TOKEN_LENGTH = 16;

const TokenEntry = z
  .object({
    /** Shown in logs and used for fairness: one queue turn per name. */
    name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'use 1 to 64 letters, digits, or _ . @ -'),
    token: z
      .string()
      .min(MIN_TOKEN_LENGTH, `use at least ${MIN_TOKEN_LENGTH} characters (openssl rand -hex 24 makes a good one)`)
      .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces'),
    role: z.enum(['user', 'admin']).default('user'),
  })
  .strict();
export type TokenEntry = z.infer<typeof TokenEntry>;

/** The tokens file: `{ "tokens": [{ "name": "ana", "token": "…", "role": "admin" }] }`. */
export const TokensFile = z.object({ tokens: z.array(TokenEntry) }).strict();

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** Reads and checks a tokens file; the error names the file and the entry to fix. */
export async function loadTokensFile(path: string): Promise<TokenEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read the tokens file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`The tokens file ${path} is not JSON (${(error as Error).message}); see server/README.md.`);
  }
  const parsed = TokensFile.safeParse(json);
  if (!parsed.success) throw new Error(`The tokens file ${path} is invalid: ${describeIssues(parsed.error)}`);
  return parsed.data.tokens;
}

/** Parses `PIXELS_TOKENS`: comma-separated `name:token` or `name:token:admin`. */
export function parseTokensVariable(value: string): TokenEntry[] {
  const entries = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
    .map((item) => {
      const [name, token, role, ...rest] = item.split(':');
      if (rest.length > 0 || token === undefined) {
        throw new Error(`PIXELS_TOKENS entry '${name}:…' must be name:token or name:token:admin`);
      }
      return { name, token, ...(role === undefined ? {} : { role }) };
    });
  const parsed = z.array(TokenEntry).safeParse(entries);
  if (!parsed.success) {
    // Name the entry, never echo the token itself into a log.
    const issues = parsed.error.issues.map((issue) => {
      const [index, ...path] = issue.path;
      return `entry '${entries[Number(index)]?.name}' ${path.join('.')}: ${issue.message}`;
    });
    throw new Error(`PIXELS_TOKENS is invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The known tokens. Lookups go through a SHA-256 digest so the time a lookup takes does not
 * depend on how much of a guessed token matches a real one.
 */
export class TokenRegistry {
  private readonly callers = new Map<string, Caller>();

  constructor(entries: readonly TokenEntry[]) {
    const names = new Set<string>();
    for (const entry of entries) {
      if (names.has(entry.name)) throw new Error(`Token name '${entry.name}' appears twice; names must be unique.`);
      const key = digest(entry.token);
      if (this.callers.has(key))
        throw new Error(`Tokens of '${entry.name}' and another entry are equal; give each its own.`);
      names.add(entry.name);
      this.callers.set(key, { name: entry.name, role: entry.role });
    }
  }

  /** No tokens configured: the server is open (allowed on loopback or with --insecure only). */
  get isOpen(): boolean {
    return this.callers.size === 0;
  }

  get size(): number {
    return this.callers.size;
  }

  identify(token: string): Caller | undefined {
    return this.callers.get(digest(token));
  }
}
