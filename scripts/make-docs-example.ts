/**
 * `pnpm docs:example`: runs the README's worked example through the CLI and writes
 * docs/example.png (source | exemplar | edit map | result) and docs/example/*.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { composeRow, decodeRgba, encodePng, type RawImage } from '@pixels/server/images/codec.ts';
import { channelToMap, mapToRaw } from '@pixels/server/images/pixel-tensors.ts';
import { shapeToMap } from '@pixels/shared';
import { writeExampleExemplar } from './make-example-inputs.ts';
import { pixelsCliArgs } from './pixels-cli.ts';

const ROOT = join(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'docs', 'example');
const SOURCE = join(ROOT, 'test', 'fixtures', 'images', 'brick.png');
/** Wider than the default 32 px so the blend across the band is easy to see at README size. */
const FEATHER = 128;
/**
 * The shape's edge moved in by half the feather, so the whole band lies inside the exemplar's
 * coverage: centred on the coverage edge (grow 0), the outer half of the band has no exemplar to
 * blend toward and the grass starts at full strength right at the coverage edge.
 */
const GROW = -FEATHER / 2;

/** The exemplar over a checkerboard, so its transparent part shows as such. */
function overCheckerboard(image: RawImage): RawImage {
  const data = new Uint8Array(image.width * image.height * 3);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const i = y * image.width + x;
      const check = ((x >> 4) + (y >> 4)) % 2 ? 200 : 150;
      const alpha = image.data[i * 4 + 3] / 255;
      for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.round(image.data[i * 4 + c] * alpha + check * (1 - alpha));
    }
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}

await mkdir(EXAMPLE, { recursive: true });
const exemplarPath = join(EXAMPLE, 'grass-right-half.png');
await writeExampleExemplar(exemplarPath);
const resultPath = join(EXAMPLE, 'result.png');
execFileSync(
  process.execPath,
  pixelsCliArgs([
    'edit',
    '--source',
    SOURCE,
    '--exemplar',
    exemplarPath,
    '--grow',
    String(GROW),
    '--feather',
    String(FEATHER),
    '--steps',
    '20',
    '--strength',
    '0.6',
    '--seed',
    '7',
    '--out',
    resultPath,
  ]),
  { cwd: ROOT, stdio: 'inherit' },
);
const exemplar = await decodeRgba(await readFile(exemplarPath), 1 << 24);
const map = shapeToMap(channelToMap(exemplar, 3), { grow: GROW, feather: FEATHER });
const row = await composeRow(
  [
    await decodeRgba(await readFile(SOURCE), 1 << 24),
    overCheckerboard(exemplar),
    greyToRgb(mapToRaw(map)),
    await decodeRgba(await readFile(resultPath), 1 << 24),
  ].map((image) => (image.channels === 4 ? dropAlpha(image) : image)),
  256,
  8,
  255,
);
await writeFile(join(ROOT, 'docs', 'example.png'), await encodePng(row));
console.log('wrote docs/example.png');

function greyToRgb(image: RawImage): RawImage {
  const data = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < image.width * image.height; i++) data.fill(image.data[i], i * 3, i * 3 + 3);
  return { data, width: image.width, height: image.height, channels: 3 };
}

function dropAlpha(image: RawImage): RawImage {
  const data = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < image.width * image.height; i++)
    for (let c = 0; c < 3; c++) data[i * 3 + c] = image.data[i * 4 + c];
  return { data, width: image.width, height: image.height, channels: 3 };
}
