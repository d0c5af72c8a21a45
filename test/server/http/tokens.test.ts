import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokensFile, parseTokensVariable, TokenRegistry } from '@pixels/server/http/tokens.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'pixels-tokens-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function tokensFile(content: string): Promise<string> {
  const path = join(folder, `tokens-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, content);
  return path;
}

describe('tokens', () => {
  it('refuses a missing file, non-JSON, short tokens, bad names and unknown keys, naming the entry', async () => {
    await expect(loadTokensFile(join(folder, 'absent.json'))).rejects.toThrow(
      /Cannot read the tokens file .*absent\.json: ENOENT/,
    );
    await expect(loadTokensFile(await tokensFile('name=ana'))).rejects.toThrow(/is not JSON/);
    await expect(loadTokensFile(await tokensFile('{"tokens":[{"name":"ana","token":"short"}]}'))).rejects.toThrow(
      'tokens.0.token: use at least 16 characters (openssl rand -hex 24 makes a good one)',
    );
    await expect(
      loadTokensFile(await tokensFile('{"tokens":[{"name":"a b","token":"0123456789abcdef0"}]}')),
    ).rejects.toThrow('tokens.0.name: use 1 to 64 letters, digits, or _ . @ -');
    await expect(
      loadTokensFile(await tokensFile('{"tokens":[{"name":"ana","token":"0123456789abcdef0","role":"root"}]}')),
    ).rejects.toThrow(/tokens\.0\.role/);
    await expect(loadTokensFile(await tokensFile('{"tokens":[],"admins":[]}'))).rejects.toThrow(/admins/);
  });

  it('reads a valid file, with role user by default', async () => {
    const path = await tokensFile(
      JSON.stringify({
        tokens: [
          { name: 'ana', token: 'ana-secret-0123456789' },
          { name: 'boss', token: 'boss-secret-0123456789', role: 'admin' },
        ],
      }),
    );
    expect(await loadTokensFile(path)).toEqual([
      { name: 'ana', token: 'ana-secret-0123456789', role: 'user' },
      { name: 'boss', token: 'boss-secret-0123456789', role: 'admin' },
    ]);
  });

  it('parses PIXELS_TOKENS as name:token[:admin] pairs', () => {
    expect(parseTokensVariable('ana:ana-secret-0123456789, boss:boss-secret-0123456789:admin')).toEqual([
      { name: 'ana', token: 'ana-secret-0123456789', role: 'user' },
      { name: 'boss', token: 'boss-secret-0123456789', role: 'admin' },
    ]);
    expect(() => parseTokensVariable('ana')).toThrow(
      "PIXELS_TOKENS entry 'ana:…' must be name:token or name:token:admin",
    );
    expect(() => parseTokensVariable('ana:x:admin:extra')).toThrow(/must be name:token/);
    expect(() => parseTokensVariable('ana:tooshort')).toThrow(
      "PIXELS_TOKENS is invalid: entry 'ana' token: use at least 16 characters",
    );
  });

  it('identifies callers by token and refuses duplicate names or tokens', () => {
    const registry = new TokenRegistry([
      { name: 'ana', token: 'ana-secret-0123456789', role: 'user' },
      { name: 'boss', token: 'boss-secret-0123456789', role: 'admin' },
    ]);
    expect(registry.isOpen).toBe(false);
    expect(registry.identify('ana-secret-0123456789')).toEqual({ name: 'ana', role: 'user' });
    expect(registry.identify('boss-secret-0123456789')).toEqual({ name: 'boss', role: 'admin' });
    expect(registry.identify('ana-secret-012345678')).toBeUndefined();
    expect(new TokenRegistry([]).isOpen).toBe(true);
    expect(
      () =>
        new TokenRegistry([
          { name: 'ana', token: 'ana-secret-0123456789', role: 'user' },
          { name: 'ana', token: 'other-secret-0123456789', role: 'user' },
        ]),
    ).toThrow("Token name 'ana' appears twice");
    expect(
      () =>
        new TokenRegistry([
          { name: 'ana', token: 'same-secret-0123456789', role: 'user' },
          { name: 'ben', token: 'same-secret-0123456789', role: 'user' },
        ]),
    ).toThrow(/Tokens of 'ben' and another entry are equal/);
  });
});
