import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/cli.ts';

/** Every .ts file under a folder. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('messages that point into server/MODELS.md', () => {
  it('name sections that exist', () => {
    const headings = readFileSync(join(REPO_ROOT, 'server/MODELS.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => line.slice(3));
    const references = sourceFiles(join(REPO_ROOT, 'server/src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/MODELS\.md, "([^"]+)"/g)].map((match) => ({ file, section: match[1] })),
    );
    // The scan finds the pointers we know of (and checks any added since).
    expect(references.map(({ file, section }) => [file.slice(REPO_ROOT.length + 1), section])).toEqual(
      expect.arrayContaining([
        ['server/src/models/execution-providers.ts', 'Devices: CPU, CUDA, WebGPU'],
        ['server/src/models/model-pairing.ts', 'Pairing parts'],
      ]),
    );
    for (const { file, section } of references) {
      expect(
        headings.some((heading) => heading.startsWith(section)),
        `${file} points to "${section}"`,
      ).toBe(true);
    }
  });
});
