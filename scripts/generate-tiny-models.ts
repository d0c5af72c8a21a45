/**
 * `tsx scripts/generate-tiny-models.ts [dir] [--oracle target|still]`: writes a tiny ONNX model
 * folder for every family and exporter layout (`tiny-sd1`, `tiny-sd1-legacy`, `tiny-sd1-olive`,
 * `tiny-sd2`, `tiny-sd-turbo`, `tiny-sdxl`, `tiny-sdxl-refiner`, `tiny-sdxl-refiner-paired`,
 * `tiny-sdxl-turbo`, `tiny-lcm`, and `tiny-sd1-narrow`, `tiny-sdxl-narrow` at the 32-d widths of
 * diffusers' test models) into `dir` (default `models/` at the repository root), with the real input
 * and output names, shapes, dtypes and file layouts at 64x64 pixels. Random weights by default;
 * `--oracle` writes UNets whose output is known exactly (see tiny-unet.ts).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeAllTinyModels } from '../test/support/tiny-models/write-tiny-model.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { oracle: { type: 'string' } } });
const oracle = values.oracle;
if (oracle !== undefined && oracle !== 'target' && oracle !== 'still') {
  console.error(`--oracle must be 'target' or 'still', got '${oracle}'`);
  process.exit(2);
}
const dir = resolve(positionals[0] ?? join(import.meta.dirname, '..', 'models'));
const started = performance.now();
const names = await writeAllTinyModels(
  dir,
  oracle ? { behaviour: oracle === 'target' ? 'oracle-target' : 'oracle-still' } : {},
);
console.log(
  `${names.length} tiny models written to ${dir} in ${Math.round(performance.now() - started)} ms: ${names.join(', ')}`,
);
