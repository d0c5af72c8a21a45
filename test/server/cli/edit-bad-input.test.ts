import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPixels } from '../../helpers/cli.ts';
import { bombPng, fixture, fixtureAt, solidPng } from '../../helpers/images.ts';
import { tempDir } from '../../helpers/temp-dirs.ts';

let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await tempDir('cli');
  await writeFile(path('source.png'), await fixtureAt('brick', 64));
  await writeFile(path('exemplar.png'), await fixtureAt('grass', 64, 64, (x) => (x >= 32 ? 1 : 0)));
  await writeFile(path('opaque.png'), await fixtureAt('grass', 64));
  await writeFile(path('wide-map.png'), await solidPng(128, 64, 255));
  await writeFile(path('notes.txt'), 'this is not an image\n');
  const png = fixture('brick');
  await writeFile(path('truncated.png'), png.subarray(0, Math.floor(png.length / 3)));
  await writeFile(path('bomb.png'), bombPng(60000, 60000));
});

/** Each case: the arguments after `edit`, and the one line the user must see. */
const cases: [string, string[], RegExp][] = [
  [
    'a missing source file',
    ['--source', 'missing.png'],
    /--source .*missing\.png: cannot read the file \(no such file\)/,
  ],
  ['a missing exemplar file', ['--exemplar', 'nope.png'], /--exemplar .*nope\.png: cannot read the file/],
  [
    'a source that is not an image',
    ['--source', 'notes.txt'],
    /source image could not be read: it is not a PNG, JPEG or WebP/,
  ],
  ['a corrupt (truncated) PNG', ['--source', 'truncated.png'], /source image could not be decoded/],
  [
    'an image above the pixel limit',
    ['--exemplar', 'bomb.png'],
    /exemplar image is 60000x60000 .* over the limit of 16777216 pixels; scale it down/,
  ],
  [
    'a map whose aspect differs',
    ['--map', 'wide-map.png'],
    /map is 128x64 but the source is 64x64: their aspect ratios differ/,
  ],
  ['strength above 1', ['--strength', '1.5'], /--strength: .*1.* \(got 1\.5\)/],
  ['strength below 0', ['--strength', '-0.1'], /--strength: .* \(got -0\.1\)/],
  ['zero steps', ['--steps', '0'], /--steps: .* \(got 0\)/],
  ['negative steps', ['--steps', '-4'], /--steps: .* \(got -4\)/],
  ['steps that are not a number', ['--steps', 'ten'], /--steps must be a number, got 'ten'/],
  ['an unknown curve', ['--threshold', 'zigzag'], /--threshold: .*linear.*sigmoid.* \(got "zigzag"\)/],
  ['an unknown model', ['--model', 'sd-nine'], /Unknown model 'sd-nine'\. Available: builtin/],
  [
    'an opaque full-frame exemplar and no map',
    ['--exemplar', 'opaque.png'],
    /exemplar is opaque and covers the whole source.*Add an edit map/,
  ],
];

describe('pixels edit: bad input', () => {
  it.each(cases)('%s: one clear line, non-zero exit, no output file', async (_name, override, message) => {
    const args: Record<string, string> = {
      '--source': 'source.png',
      '--exemplar': 'exemplar.png',
      '--out': 'out.png',
      '--steps': '2',
    };
    const flags: string[] = [];
    for (let i = 0; i < override.length; i += 2) args[override[i]] = override[i + 1];
    for (const [flag, value] of Object.entries(args)) {
      flags.push(flag, ['--source', '--exemplar', '--map', '--out'].includes(flag) ? path(value) : value);
    }
    const result = await runPixels(['edit', ...flags]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(path('out.png'))).toBe(false);
    expect((await readdir(dir)).some((name) => name.includes('partial'))).toBe(false);
  });

  it('asks for what is missing', async () => {
    const result = await runPixels(['edit', '--source', path('source.png'), '--out', path('out.png')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--exemplar is required/);
  });
});
