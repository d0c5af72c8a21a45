/**
 * `pnpm bench`: every figure side by side in one run on this machine, written over BENCHMARKS.md
 * with the date and the machine. Compare ratios within one run: the machines are shared and noisy.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchLoop, type LoopFigures } from './bench-engine.ts';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, '..', 'shared', 'fixtures', 'images');
const MODELS = process.env.PIXELS_MODELS_DIR ?? join(ROOT, 'models');

interface Row {
  figure: string;
  value: string;
  target?: string;
  pass?: boolean;
}

/** Wall time of one whole `pixels edit` at 512x512, 20 UNet calls, from the shell. */
async function benchCliEdit(): Promise<{ ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'pixels-bench-'));
  const exemplar = join(dir, 'exemplar.png');
  // grass with its left half transparent, made by the project's own edit-map tools
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'make-example-inputs.ts'), dir], {
    cwd: ROOT,
  });
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'server/src/cli/main.ts'),
      'edit',
      '--source',
      join(FIXTURES, 'brick.png'),
      '--exemplar',
      exemplar,
      '--steps',
      '20',
      '--strength',
      '1',
      '--seed',
      '1',
      '--out',
      join(dir, 'out.png'),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`pixels edit failed: ${result.stderr}`);
  return { ms };
}

function loopRows(loop: LoopFigures): Row[] {
  return [
    {
      figure: `img2img pass, ${loop.size}x${loop.size}, ${loop.steps} steps (median)`,
      value: `${loop.img2imgMs.toFixed(0)} ms`,
    },
    { figure: 'PIXELS pass, same model, steps, size, seed (median)', value: `${loop.pixelsMs.toFixed(0)} ms` },
    {
      figure: 'PIXELS / img2img time',
      value: loop.timeRatio.toFixed(3),
      target: '≤ 1.05',
      pass: loop.timeRatio <= 1.05,
    },
    { figure: 'img2img peak JS memory over its start', value: `${loop.img2imgPeakMb.toFixed(1)} MB` },
    { figure: 'PIXELS peak JS memory over its start', value: `${loop.pixelsPeakMb.toFixed(1)} MB` },
    {
      figure: 'PIXELS extra memory over img2img',
      value: `${loop.extraMemoryMb.toFixed(1)} MB`,
      target: '≤ 10 MB',
      pass: loop.extraMemoryMb <= 10,
    },
    {
      figure: 'peak RSS over start: img2img / PIXELS',
      value: `${loop.img2imgPeakRssMb.toFixed(1)} / ${loop.pixelsPeakRssMb.toFixed(1)} MB`,
    },
  ];
}

function table(rows: Row[]): string {
  const lines = ['| figure | value | target | |', '| --- | --- | --- | --- |'];
  for (const row of rows)
    lines.push(
      `| ${row.figure} | ${row.value} | ${row.target ?? ''} | ${row.pass === undefined ? '' : row.pass ? 'met' : '**missed**'} |`,
    );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const sections: { title: string; rows: Row[]; note?: string }[] = [];
  console.error('bench: PIXELS loop vs img2img…');
  const loop = await benchLoop({ fixturesDir: FIXTURES, modelsDir: MODELS });
  sections.push({
    title: 'Engine: the PIXELS loop against plain img2img (built-in model, 512x512)',
    rows: loopRows(loop),
    note: "Memory is JavaScript-visible memory (heap + array buffers) sampled around every model call, after a GC; onnxruntime's native arenas are the same for both loops and show in RSS.",
  });
  console.error('bench: whole CLI edit…');
  const cli = await benchCliEdit();
  sections.push({
    title: 'CLI: one whole `pixels edit`, 512x512, 20 steps at strength 1, built-in model',
    rows: [
      {
        figure: 'wall time (process start to PNG written)',
        value: `${(cli.ms / 1000).toFixed(2)} s`,
        target: '≤ 10 s',
        pass: cli.ms <= 10_000,
      },
    ],
  });

  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const body = [
    '# Benchmarks',
    '',
    `Written by \`pnpm bench\` on ${new Date().toISOString()} — ${machine}. Each run overwrites this file.`,
    '',
    ...sections.flatMap((section) => [
      `## ${section.title}`,
      '',
      table(section.rows),
      '',
      ...(section.note ? [section.note, ''] : []),
    ]),
  ].join('\n');
  await writeFile(join(ROOT, 'BENCHMARKS.md'), body);
  console.log(body);
}

await main();
