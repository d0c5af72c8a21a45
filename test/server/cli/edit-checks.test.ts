import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRgba } from '@pixels/server/images/codec.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPixels } from '../../helpers/cli.ts';
import { fixtureAt, solidPng } from '../../helpers/images.ts';
import { tempDir } from '../../helpers/temp-dirs.ts';
import { tinyModel } from '../../helpers/tiny-model-folders.ts';

let dir: string;
const path = (name: string) => join(dir, name);
const noStepRan = (stderr: string) => !/^(step \d|model )/m.test(stderr);

beforeAll(async () => {
  dir = await tempDir('cli-checks');
  await mkdir(path('pictures'));
  await writeFile(path('pictures/source.png'), await fixtureAt('brick', 64));
  await writeFile(path('pictures/exemplar.png'), await fixtureAt('grass', 64, 64, (x) => (x >= 32 ? 1 : 0)));
  // Twice the source's size: the default fit (contain) scales it down.
  await writeFile(path('pictures/big-exemplar.png'), await fixtureAt('grass', 128, 128, (x) => (x >= 64 ? 1 : 0)));
  await writeFile(path('pictures/wide-map.png'), await solidPng(128, 64, 255));
  await writeFile(path('pictures/a-file'), 'not a folder\n');
  await writeFile(path('source-512.png'), await fixtureAt('brick', 512));
  await writeFile(path('exemplar-512.png'), await fixtureAt('grass', 512, 512, (x) => (x >= 256 ? 1 : 0)));
});

const relativeEdit = (out: string, extra: string[] = []) => [
  'edit',
  '--source',
  'pictures/source.png',
  '--exemplar',
  'pictures/exemplar.png',
  '--steps',
  '2',
  '--seed',
  '1',
  '--out',
  out,
  ...extra,
];

describe('pixels edit: paths are the user’s', () => {
  it('takes relative paths from INIT_CWD, the folder pnpm was run from (the process runs at the repo root)', async () => {
    const result = await runPixels(relativeEdit('pictures/from-init-cwd.png'), { INIT_CWD: dir });
    expect(result.stderr).not.toMatch(/cannot read/);
    expect(result.code).toBe(0);
    const written = await decodeRgba(new Uint8Array(await readFile(path('pictures/from-init-cwd.png'))), 1 << 20);
    expect([written.width, written.height]).toEqual([64, 64]);
  });

  it('without INIT_CWD, takes them from the current folder', async () => {
    const result = await runPixels(relativeEdit('pictures/from-cwd.png'), { INIT_CWD: undefined }, dir);
    expect(result.code).toBe(0);
    expect(existsSync(path('pictures/from-cwd.png'))).toBe(true);
  });

  it('names the full path it looked at when a relative file is missing', async () => {
    const result = await runPixels([...relativeEdit('out.png'), '--source', 'nowhere.png'], { INIT_CWD: dir });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `pixels edit: --source ${path('nowhere.png')}: cannot read the file (no such file).`,
    );
  });
});

describe('pixels edit: everything is checked before the first step', () => {
  const outCases: [string, string, RegExp][] = [
    [
      'a folder that does not exist',
      'missing-folder/out.png',
      /the folder .*missing-folder does not exist; create it first/,
    ],
    ['a folder that is a file', 'pictures/a-file/out.png', /pictures\/a-file is not a folder/],
    ['a path that is a folder', 'pictures.png', /that is a folder; name the file to write/],
  ];
  it.each(outCases)('--out in %s: refused at once, before any input is read', async (_name, out, message) => {
    if (out === 'pictures.png') await mkdir(path('pictures.png'), { recursive: true });
    // The source is missing too: the --out problem must be the one reported, since it is checked first.
    const result = await runPixels([...relativeEdit(out), '--source', 'nowhere.png'], { INIT_CWD: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(noStepRan(result.stderr)).toBe(true);
  });

  it('leaves no probe file behind after checking --out', async () => {
    const result = await runPixels(relativeEdit('pictures/probe-check.png'), { INIT_CWD: dir });
    expect(result.code).toBe(0);
    expect((await readdir(path('pictures'))).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('reports an unknown model before the map check', async () => {
    const result = await runPixels(
      [...relativeEdit('out.png'), '--model', 'sd-nine', '--map', 'pictures/wide-map.png'],
      { INIT_CWD: dir },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Unknown model 'sd-nine'/);
    expect(result.stderr).not.toMatch(/aspect/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('pixels edit: says what it does that was not asked for', () => {
  it('one line each: a rescaled exemplar, an ignored prompt, a working size other than the source’s', async () => {
    const result = await runPixels(
      [
        ...relativeEdit('pictures/noted.png'),
        '--exemplar',
        'pictures/big-exemplar.png',
        '--prompt',
        'lush green grass',
      ],
      { INIT_CWD: dir },
    );
    expect(result.code).toBe(0);
    const notes = result.stderr.split('\n').filter((line) => line.startsWith('note: '));
    expect(notes).toEqual([
      'note: Exemplar 2 is 128x128 and the source 64x64, so it was scaled to fit inside it, transparent where it does not reach (fit contain; choose another fit to change this).',
      "note: Model 'builtin' does not use text (its metadata says so: it is conditioned on the images alone), so the prompt is ignored.",
    ]);
  });

  it('a latent model working at its native area, not the size of the whole source it was given', async () => {
    const model = await tinyModel('sd1');
    const result = await runPixels(
      [
        'edit',
        '--source',
        'source-512.png',
        '--exemplar',
        'exemplar-512.png',
        '--steps',
        '2',
        '--seed',
        '1',
        '--region',
        'full',
        '--model',
        model,
        '--out',
        'pictures/native.png',
      ],
      { INIT_CWD: dir },
    );
    expect(result.code).toBe(0);
    const notes = result.stderr.split('\n').filter((line) => line.startsWith('note: '));
    expect(notes).toEqual([
      "note: The model works at 64x64, not the source's 512x512: its native 64x64 area at the same aspect, sides multiples of 16. The result is scaled back to 512x512.",
    ]);
  });

  it('says nothing when the inputs are used as given', async () => {
    const result = await runPixels(
      [
        'edit',
        '--source',
        'source-512.png',
        '--exemplar',
        'exemplar-512.png',
        '--steps',
        '2',
        '--strength',
        '0.5',
        '--out',
        'quiet.png',
      ],
      { INIT_CWD: dir },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/^note: /m);
  });
});
