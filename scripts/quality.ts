/**
 * `pnpm quality`: runs the fixed scenes of scripts/quality/scenarios.ts through the real edit
 * pipeline on the built-in model and judges each against an alpha blend and a hard paste by the
 * same map. Writes docs/quality/contact-sheet.png (per row: source | exemplar | map |
 * alpha blend | hard paste | PIXELS), docs/quality/metrics.md and docs/quality/metrics.json.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEditPipeline } from '@pixels/server/edit/edit-pipeline.ts';
import { composeRow, decodeRgba, encodePng, type RawImage } from '@pixels/server/images/codec.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { DEFAULT_LIMITS, EditSettings } from '@pixels/shared';
import {
  alphaBlend,
  bandDifference,
  doubleExposure,
  effectiveWeights,
  hardPaste,
  keepMaxDifference,
  type Map01,
  type Rgb,
  textureRatios,
  weightError,
  whiteMeanDifference,
} from './quality/metrics.ts';
import { loadFixture, SCENARIOS, type Scenario, SIZE, scenarioMap } from './quality/scenarios.ts';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'docs', 'quality');
const SEED = 7;
const STEPS = 20;

const rgb = (image: RawImage): Rgb => {
  if (image.channels === 3) return image;
  const data = new Uint8Array(image.width * image.height * 3);
  for (let p = 0; p < image.width * image.height; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = image.data[p * image.channels + c];
  }
  return { data, width: image.width, height: image.height };
};
const asRaw = (image: Rgb): RawImage => ({ data: image.data, width: image.width, height: image.height, channels: 3 });
const rgbRaw = (image: RawImage): RawImage => asRaw(rgb(image));
const mapImage = (map: Map01): RawImage => {
  const data = new Uint8Array(map.data.length * 3);
  for (let p = 0; p < map.data.length; p++) data.fill(Math.round(map.data[p] * 255), p * 3, p * 3 + 3);
  return { data, width: map.width, height: map.height, channels: 3 };
};

interface SceneResult {
  scenario: Scenario;
  source: Rgb;
  exemplar: Rgb;
  map: Map01;
  result: Rgb;
  ms: number;
}

/** The layers as RGBA PNGs with their coverage in alpha, and the composite E the metrics compare with. */
async function sceneInputs(scenario: Scenario) {
  const source = await loadFixture(scenario.source);
  const composite = new Uint8Array(rgb(source).data);
  const layers: Uint8Array[] = [];
  for (const layer of scenario.layers) {
    const image = await loadFixture(layer.image);
    const data = new Uint8Array(image.data);
    for (let p = 0; p < SIZE * SIZE; p++) {
      const alpha = layer.alpha ? layer.alpha(p % SIZE, Math.floor(p / SIZE), SIZE, SIZE) : 1;
      data[p * 4 + 3] = Math.round(alpha * 255);
      for (let c = 0; c < 3; c++) {
        composite[p * 3 + c] = Math.round(image.data[p * 4 + c] * alpha + composite[p * 3 + c] * (1 - alpha));
      }
    }
    layers.push(await encodePng({ data, width: SIZE, height: SIZE, channels: 4 }));
  }
  const map = scenarioMap(scenario.map, SIZE, SIZE);
  return {
    source,
    sourcePng: await encodePng(source),
    layers,
    exemplar: { data: composite, width: SIZE, height: SIZE },
    map,
    mapPng: await encodePng(mapImage(map)),
  };
}

async function runScene(registry: ModelRegistry, scenario: Scenario): Promise<SceneResult> {
  const inputs = await sceneInputs(scenario);
  const settings = EditSettings.parse({
    steps: STEPS,
    strength: scenario.strength,
    threshold: scenario.curve,
    seed: SEED,
  });
  const started = performance.now();
  const outcome = await runEditPipeline(
    registry,
    settings,
    { source: inputs.sourcePng, exemplars: inputs.layers, map: inputs.mapPng },
    { maxPixels: DEFAULT_LIMITS.maxPixels, maxExemplars: DEFAULT_LIMITS.maxExemplars },
  );
  const ms = performance.now() - started;
  const result = rgb(await decodeRgba(outcome.png, 1 << 24));
  return { scenario, source: rgb(inputs.source), exemplar: inputs.exemplar, map: inputs.map, result, ms };
}

/** A markdown table with padded columns, as the formatter (biome) lays it out. */
function alignTable(rows: readonly string[]): string[] {
  const cells = rows.map((row) =>
    row
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim()),
  );
  const widths = cells[0].map((_, column) =>
    Math.max(...cells.map((row) => (/^-+$/.test(row[column]) ? 3 : row[column].length))),
  );
  return cells.map(
    (row) =>
      `| ${row.map((cell, column) => (/^-+$/.test(cell) ? '-'.repeat(widths[column]) : cell.padEnd(widths[column]))).join(' | ')} |`,
  );
}

const fixed = (value: number, digits = 2) => (Number.isNaN(value) ? 'n/a' : value.toFixed(digits));

function judge(scene: SceneResult) {
  const { result, source, exemplar, map } = scene;
  const alpha = alphaBlend(source, exemplar, map);
  const figures = (image: Rgb) => {
    const weights = effectiveWeights(image, source, exemplar, map);
    const texture = textureRatios(image, source, exemplar, map);
    return {
      weights,
      weightError: weightError(weights),
      doubleExposure: doubleExposure(image, source, exemplar, map),
      texture,
      keepMax: keepMaxDifference(image, source, map),
      whiteMean: whiteMeanDifference(image, exemplar, map),
    };
  };
  return { pixels: figures(result), alpha: figures(alpha) };
}

const modelsDir = await mkdtemp(join(tmpdir(), 'pixels-quality-models-'));
const registry = new ModelRegistry({
  modelsDir,
  session: { providers: ['cpu'], intraOpThreads: 0 },
});
const scenes: SceneResult[] = [];
try {
  for (const scenario of SCENARIOS) {
    const scene = await runScene(registry, scenario);
    console.log(`${scenario.name}: ${scene.ms.toFixed(0)} ms`);
    scenes.push(scene);
  }
} finally {
  await registry.close();
  await rm(modelsDir, { recursive: true, force: true });
}

const byName = (name: string) => {
  const scene = scenes.find((candidate) => candidate.scenario.name === name);
  if (!scene) throw new Error(`no scene ${name}`);
  return scene;
};
const base = byName('brick-grass-ramp');
const knobs = {
  cubicVsLog: bandDifference(byName('brick-grass-ramp-cubic').result, byName('brick-grass-ramp-log').result, base.map),
  strength03Vs09: bandDifference(
    byName('brick-grass-ramp-strength-0.3').result,
    byName('brick-grass-ramp-strength-0.9').result,
    base.map,
  ),
  curvesVsLinear: Object.fromEntries(
    (['quadratic', 'cubic', 'log', 'sigmoid'] as const).map((curve) => [
      curve,
      bandDifference(byName(`brick-grass-ramp-${curve}`).result, base.result, base.map),
    ]),
  ),
};

const judged = scenes.map((scene) => ({ scene, ...judge(scene) }));
const lines = [
  '# Edit quality on the fixtures',
  '',
  `Made by \`pnpm quality\` (built-in model, ${SIZE}x${SIZE}, ${STEPS} steps, seed ${SEED}); the contact sheet`,
  'rows are in the order of this table: source | exemplar (layers composited) | edit map | alpha blend | hard paste | PIXELS.',
  'Targets (issue 9): |w − m| ≤ 0.15 in every tenth of the band; double exposure ≤ 0.25; texture ratio 0.8–1.2',
  'in every tenth; keep max difference 0; white mean difference ≤ 4 at strength 0.6. Alpha-blend figures in brackets.',
  '',
  '| scene | what | curve | strength | max \\|w − m\\| | double exposure | texture ratio (low–peak) | keep max | white mean |',
  '|---|---|---|---|---|---|---|---|---|',
  ...judged.map(({ scene, pixels, alpha }) => {
    const { scenario } = scene;
    return `| ${scenario.name} | ${scenario.what} | ${scenario.curve} | ${scenario.strength} | ${fixed(pixels.weightError)} (${fixed(alpha.weightError)}) | ${fixed(pixels.doubleExposure)} (${fixed(alpha.doubleExposure)}) | ${fixed(pixels.texture.ratio)} (${fixed(pixels.texture.low)}–${fixed(pixels.texture.peak)}) [${fixed(alpha.texture.low)}–${fixed(alpha.texture.peak)}] | ${fixed(pixels.keepMax, 0)} | ${fixed(pixels.whiteMean, 1)} |`;
  }),
  '',
  '## Effective exemplar weight per tenth of the map (PIXELS / alpha blend)',
  '',
  `| scene | ${Array.from({ length: 10 }, (_, k) => `${k / 10}–${(k + 1) / 10}`).join(' | ')} |`,
  `|---|${'---|'.repeat(10)}`,
  ...judged.map(({ scene, pixels, alpha }) => {
    const cells = Array.from({ length: 10 }, (_, tenth) => {
      const ours = pixels.weights.find((figure) => figure.tenth === tenth);
      const theirs = alpha.weights.find((figure) => figure.tenth === tenth);
      return ours && theirs ? `${fixed(ours.weight)} / ${fixed(theirs.weight)}` : '';
    });
    return `| ${scene.scenario.name} | ${cells.join(' | ')} |`;
  }),
  '',
  '## The knobs (mean |difference| over the band, grey levels)',
  '',
  `- cubic against log: ${fixed(knobs.cubicVsLog)} (target ≥ 3)`,
  `- strength 0.3 against 0.9: ${fixed(knobs.strength03Vs09)} (target ≥ 5)`,
  `- each curve against linear: ${Object.entries(knobs.curvesVsLinear)
    .map(([curve, value]) => `${curve} ${fixed(value)}`)
    .join(', ')}`,
  '',
];

await mkdir(OUT, { recursive: true });
// The README carries the main table between two markers; everything else stays as it is.
const README = join(ROOT, 'README.md');
const readme = await readFile(README, 'utf8');
const begin = '<!-- quality:begin -->';
const end = '<!-- quality:end -->';
if (readme.includes(begin) && readme.includes(end)) {
  const table = lines.slice(
    lines.findIndex((line) => line.startsWith('| scene |')),
    lines.indexOf('## Effective exemplar weight per tenth of the map (PIXELS / alpha blend)'),
  );
  const knobLines = lines
    .slice(lines.indexOf('## The knobs (mean |difference| over the band, grey levels)') + 2)
    .filter(Boolean);
  const note =
    "PIXELS figures, the alpha blend's in brackets (texture: PIXELS low–peak, then the alpha blend's in square brackets). The targets apply to the linear curve at strength 0.6; the other curve and strength rows show how far the knobs move the band.";
  const block = [
    begin,
    '',
    note,
    '',
    ...alignTable(table.filter(Boolean)),
    '',
    'The knobs (mean |difference| over the band, grey levels):',
    '',
    ...knobLines,
    '',
    end,
  ].join('\n');
  await writeFile(
    README,
    readme.slice(0, readme.indexOf(begin)) + block + readme.slice(readme.indexOf(end) + end.length),
  );
}
await writeFile(join(OUT, 'metrics.md'), `${lines.join('\n')}`);
await writeFile(
  join(OUT, 'metrics.json'),
  `${JSON.stringify(
    {
      size: SIZE,
      steps: STEPS,
      seed: SEED,
      knobs,
      scenes: judged.map(({ scene, pixels, alpha }) => ({
        ...scene.scenario,
        layers: scene.scenario.layers.map((layer) => layer.image),
        ms: Math.round(scene.ms),
        pixels,
        alpha,
      })),
    },
    null,
    1,
  )}\n`,
);

const TILE = 160;
const rows: RawImage[] = [];
for (const scene of scenes) {
  const { source, exemplar, map, result } = scene;
  rows.push(
    rgbRaw(
      await composeRow(
        [
          asRaw(source),
          asRaw(exemplar),
          mapImage(map),
          asRaw(alphaBlend(source, exemplar, map)),
          asRaw(hardPaste(source, exemplar, map)),
          asRaw(result),
        ],
        TILE,
        4,
        255,
      ),
    ),
  );
}
// Rows of one width, stacked.
const sheet = new Uint8Array(rows.reduce((sum, row) => sum + row.data.length, 0));
let offset = 0;
for (const row of rows) {
  sheet.set(row.data, offset);
  offset += row.data.length;
}
const sheetHeight = rows.reduce((sum, row) => sum + row.height, 0);
await writeFile(
  join(OUT, 'contact-sheet.png'),
  await encodePng({ data: sheet, width: rows[0].width, height: sheetHeight, channels: 3 }),
);
// A look at full size: PIXELS_QUALITY_LOOK=<folder> writes each scene's alpha blend and PIXELS side by side.
const look = process.env.PIXELS_QUALITY_LOOK;
if (look) {
  await mkdir(look, { recursive: true });
  for (const scene of scenes) {
    const { source, exemplar, map, result } = scene;
    const row = await composeRow([asRaw(alphaBlend(source, exemplar, map)), asRaw(result)], SIZE, 4, 255);
    await writeFile(join(look, `${scene.scenario.name}.png`), await encodePng(rgbRaw(row)));
  }
}
console.log(lines.join('\n'));
