/**
 * The engine's figures: the PIXELS loop against plain img2img on the same model, steps, size and
 * seed (time and peak memory, side by side in one run), on the built-in model at 512x512.
 */

import { planEdit } from '@pixels/server/engine/edit-plan.ts';
import { runImg2ImgPass } from '@pixels/server/engine/img2img.ts';
import type { DiffusionModel } from '@pixels/server/engine/model.ts';
import { createNoise } from '@pixels/server/engine/noise.ts';
import { runPixelsPass } from '@pixels/server/engine/pixels-loop.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { decodeRgba, resizeRaw } from '@pixels/server/images/codec.ts';
import { channelToMap, rawToImageTensor } from '@pixels/server/images/pixel-tensors.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { resampleMap, shapeToMap } from '@pixels/shared';

export interface LoopFigures {
  size: number;
  steps: number;
  strength: number;
  /** A typical pass: the sum, over the pass's turns (setup, then each step), of each turn's median over the rounds. */
  img2imgMs: number;
  pixelsMs: number;
  /** pixelsMs / img2imgMs: the verdict's figure. */
  timeRatio: number;
  /** Each timing round's PIXELS time over its img2img time (the two run in lockstep). */
  roundRatios: number[];
  /** The median round's PIXELS time over the median round's img2img time (whole rounds, not turns). */
  roundMedianRatio: number;
  /** Time inside the model's predict calls, median over the rounds. */
  img2imgModelMs: number;
  pixelsModelMs: number;
  /** Time outside the model's predict calls (noise, masking, scheduler), median over the rounds. */
  img2imgOurMs: number;
  pixelsOurMs: number;
  /** Peak live JS memory (heap + external: array buffers, WebAssembly memories; after a GC) above the pass's starting point, in MB. */
  img2imgPeakMb: number;
  pixelsPeakMb: number;
  extraMemoryMb: number;
  /** Peak resident set size above the starting point, in MB (includes onnxruntime's arenas). */
  img2imgPeakRssMb: number;
  pixelsPeakRssMb: number;
}

const MB = 1024 * 1024;

function jsMemory(): number {
  const usage = process.memoryUsage();
  // external holds the array buffers and the held source's WebAssembly memory (arrayBuffers does not).
  return usage.heapUsed + usage.external;
}

interface Probe {
  /** Sample live memory (after a GC) around every model call; slows the pass, so timing rounds do not. */
  sampleMemory: boolean;
  peaks: { js: number; rss: number };
  modelMs: number;
}

/**
 * Wraps predict to time the model and, in memory rounds, sample live memory at the loop's
 * high-water points. `beforeCall` runs first (a lockstep round's turn).
 */
function probedModel(model: DiffusionModel, probe: Probe, beforeCall?: () => Promise<void>): DiffusionModel {
  const sample = () => {
    if (!probe.sampleMemory) return;
    collectGarbage();
    probe.peaks.js = Math.max(probe.peaks.js, jsMemory());
    probe.peaks.rss = Math.max(probe.peaks.rss, process.memoryUsage.rss());
  };
  return {
    info: model.info,
    encodeImage: (image) => model.encodeImage(image),
    decodeLatent: (latent) => model.decodeLatent(latent),
    encodePrompt: (...args) => model.encodePrompt(...args),
    async predict(input) {
      await beforeCall?.();
      sample();
      const started = performance.now();
      const output = await model.predict(input);
      probe.modelMs += performance.now() - started;
      sample();
      return output;
    },
  };
}

function collectGarbage(): void {
  // Twice: V8 releases the backing stores of dead ArrayBuffers concurrently after a GC, and the
  // next GC waits for that, so one GC alone can leave freed latents counted (on a loaded machine
  // a whole pass's worth, which made a baseline swallow the pass after it).
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

type Loop = 'img2img' | 'pixels';

/**
 * Runs the two passes together, one step of each in turn: a pass hands the turn over when it asks
 * for its next model call, so each step of one (its model call and its own code up to the next
 * call) runs between two steps of the other, under the same machine conditions within a fraction
 * of a second. Passes run one after the other instead differ by whatever the machine did in
 * between (on these shared cores, ±10% from one pass to the next). A pass's time is the sum of its
 * own turns; the other pass only waits meanwhile.
 */
class Lockstep {
  readonly ownMs: Record<Loop, number> = { img2img: 0, pixels: 0 };
  /** Each turn's time, in order: the first is the pass's setup up to its first model call. */
  readonly turns: Record<Loop, number[]> = { img2img: [], pixels: [] };
  private readonly turnStarted: Record<Loop, number> = { img2img: 0, pixels: 0 };
  private readonly waiting = new Map<Loop, () => void>();
  private readonly finished = new Set<Loop>();

  begin(loop: Loop): void {
    this.turnStarted[loop] = performance.now();
  }

  /** Ends this pass's turn and waits for the other pass's next one to end (if it still runs). */
  async next(loop: Loop): Promise<void> {
    this.endTurn(loop);
    const other: Loop = loop === 'img2img' ? 'pixels' : 'img2img';
    if (!this.finished.has(other)) {
      const turn = new Promise<void>((resolve) => this.waiting.set(loop, resolve));
      this.wake(other);
      await turn;
    }
    this.turnStarted[loop] = performance.now();
  }

  end(loop: Loop): void {
    this.endTurn(loop);
    this.finished.add(loop);
    this.wake(loop === 'img2img' ? 'pixels' : 'img2img');
  }

  private endTurn(loop: Loop): void {
    const ms = performance.now() - this.turnStarted[loop];
    this.ownMs[loop] += ms;
    this.turns[loop].push(ms);
  }

  private wake(loop: Loop): void {
    const resolve = this.waiting.get(loop);
    this.waiting.delete(loop);
    resolve?.();
  }
}

export async function benchLoop(options: {
  fixturesDir: string;
  modelsDir: string;
  size?: number;
  steps?: number;
  strength?: number;
  rounds?: number;
}): Promise<LoopFigures> {
  const size = options.size ?? 512;
  const steps = options.steps ?? 20;
  const strength = options.strength ?? 1;
  const rounds = options.rounds ?? 12;
  const registry = new ModelRegistry({
    modelsDir: options.modelsDir,
    session: { providers: ['cpu'], intraOpThreads: 0 },
  });
  const model = await registry.get('builtin');
  const { readFile } = await import('node:fs/promises');
  const load = async (name: string) =>
    resizeRaw(await decodeRgba(await readFile(`${options.fixturesDir}/${name}.png`), 1 << 26), size, size, 'cover');
  const sourceImage = await load('brick');
  const exemplarRaw = await load('grass');
  const source = await model.encodeImage(rawToImageTensor(sourceImage));
  const exemplar = await model.encodeImage(rawToImageTensor(exemplarRaw));
  const [, , h, w] = source.shape;
  const alpha = channelToMap(
    {
      ...exemplarRaw,
      data: exemplarRaw.data.map((v, i) => (i % 4 === 3 ? ((i >> 2) % size >= size / 2 ? 255 : 0) : v)),
    },
    3,
  );
  const coverage = resampleMap(alpha, w, h).data;
  const holdMap = resampleMap(shapeToMap(alpha, { grow: 8, feather: 64 }), w, h).data.map((v) => 1 - v);
  const conditioning = await model.encodePrompt('', '', false);
  const plan = planEdit({ steps, strength, exemplarMode: 'layered', guidance: 1, exemplarCount: 1 }, model.info);
  const { startIndex, guidance, branches } = plan;

  const measure = async (kind: Loop, sampleMemory: boolean, lockstep?: Lockstep) => {
    if (!lockstep) collectGarbage();
    const baseline = { js: jsMemory(), rss: process.memoryUsage.rss() };
    const probe: Probe = { sampleMemory, peaks: { ...baseline }, modelMs: 0 };
    const scheduler = createScheduler(model.info.schedulerConfig);
    scheduler.setTimesteps(steps);
    lockstep?.begin(kind);
    const context = {
      model: probedModel(model, probe, lockstep && (() => lockstep.next(kind))),
      scheduler,
      conditioning,
      guidance,
      branches,
      noise: createNoise(42),
    };
    const started = performance.now();
    if (kind === 'img2img') {
      await runImg2ImgPass({ ...context, reference: source, source, startIndex });
    } else {
      await runPixelsPass({
        ...context,
        source,
        exemplars: [{ latent: exemplar, coverage }],
        holdMap,
        startIndex,
        curve: 'linear',
      });
    }
    lockstep?.end(kind);
    const ms = lockstep ? lockstep.ownMs[kind] : performance.now() - started;
    return {
      ms,
      turns: lockstep ? lockstep.turns[kind] : [],
      modelMs: probe.modelMs,
      ourMs: ms - probe.modelMs,
      jsMb: (probe.peaks.js - baseline.js) / MB,
      rssMb: (probe.peaks.rss - baseline.rss) / MB,
    };
  };

  // Warm-up, one pass of each: onnxruntime's first run allocates its arenas, and V8 compiles each
  // loop's code on its first pass (a worker thread pays both once, not per edit).
  await measure('img2img', false);
  await measure('pixels', false);
  type Round = Awaited<ReturnType<typeof measure>>;
  const timing = { img2img: [] as Round[], pixels: [] as Round[] };
  const memory = { img2img: [] as Round[], pixels: [] as Round[] };
  // Each loop takes the first turn in every other round.
  for (let round = 0; round < rounds; round++) {
    collectGarbage();
    const lockstep = new Lockstep();
    const order: Loop[] = round % 2 === 0 ? ['img2img', 'pixels'] : ['pixels', 'img2img'];
    const [first, second] = await Promise.all(order.map((kind) => measure(kind, false, lockstep)));
    timing[order[0]].push(first);
    timing[order[1]].push(second);
  }
  for (let round = 0; round < rounds; round++) {
    memory.img2img.push(await measure('img2img', true));
    memory.pixels.push(await measure('pixels', true));
  }
  await registry.close();
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  // Another tenant's burst lands on a few turns of one round (a round's ratio ranged 0.89 to 1.18
  // with the same code): each turn's median over the rounds leaves those out, and their sum keeps
  // every part of the pass, setup included.
  const typicalPass = (passes: Round[]) =>
    passes[0].turns.reduce((sum, _, turn) => sum + median(passes.map((pass) => pass.turns[turn])), 0);
  const img2imgMs = typicalPass(timing.img2img);
  const pixelsMs = typicalPass(timing.pixels);
  const img2imgPeakMb = median(memory.img2img.map((r) => r.jsMb));
  const pixelsPeakMb = median(memory.pixels.map((r) => r.jsMb));
  return {
    size,
    steps,
    strength,
    img2imgMs,
    pixelsMs,
    timeRatio: pixelsMs / img2imgMs,
    roundRatios: timing.pixels.map((round, index) => round.ms / timing.img2img[index].ms),
    roundMedianRatio: median(timing.pixels.map((r) => r.ms)) / median(timing.img2img.map((r) => r.ms)),
    img2imgModelMs: median(timing.img2img.map((r) => r.modelMs)),
    pixelsModelMs: median(timing.pixels.map((r) => r.modelMs)),
    img2imgOurMs: median(timing.img2img.map((r) => r.ourMs)),
    pixelsOurMs: median(timing.pixels.map((r) => r.ourMs)),
    img2imgPeakMb,
    pixelsPeakMb,
    extraMemoryMb: pixelsPeakMb - img2imgPeakMb,
    img2imgPeakRssMb: median(memory.img2img.map((r) => r.rssMb)),
    pixelsPeakRssMb: median(memory.pixels.map((r) => r.rssMb)),
  };
}
