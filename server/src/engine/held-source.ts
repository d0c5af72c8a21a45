import { HELD_SOURCE_KERNEL_WASM } from './held-source-kernel-wasm.ts';
import type { NoiseScales } from './scheduler.ts';
import { webAssembly } from './webassembly-api.ts';

/**
 * The noised source S_i = signal_i * S + noise_i * n_S of a pass, written into a latent's held
 * cells at every step. Why a WebAssembly kernel: this mix runs over every held cell of every step
 * and is the largest part of PIXELS' own time per pass; JavaScript's typed-array loop does one
 * value at a time, the kernel's SIMD lanes four (re-injection at 512² went from 52 to 40 ms a
 * pass, the rest is memory traffic). It gives the same bits as that loop (float64 products and
 * sum, one rounding to float32). S and n_S live in the kernel's memory, one per pass and sized to
 * it (64 KiB pages), so it is freed with the pass; mixed values go through a small scratch and are
 * copied into the latent.
 */
export interface HeldSource {
  /** S, in the kernel's memory. */
  readonly source: Float32Array;
  /** n_S, in the kernel's memory: the pass's one source noise sample. */
  readonly noise: Float32Array;
  /** z[first .. end) = signal * S + noise * n_S over the same indices. */
  writeInto(z: Float32Array, first: number, end: number, scales: NoiseScales): void;
}

/** Values mixed per kernel call: 64 KiB of scratch, which stays in the core's cache. */
const SCRATCH_VALUES = 16 * 1024;
const PAGE_BYTES = 64 * 1024;
/** Views of the scratch kept per pass; a map with more stretch lengths makes the rest as needed. */
const MAX_SCRATCH_VIEWS = 1024;

type Mix = (s: number, n: number, out: number, count: number, a: number, b: number) => void;

let compiled: object | undefined;

/**
 * Copies S into a new kernel instance's memory, and has `drawNoise` write n_S there (as many
 * values as S), so the pass's noise sample is never a separate array.
 */
export function createHeldSource(source: Float32Array, drawNoise: (into: Float32Array) => void): HeldSource {
  const { Module, Instance, Memory } = webAssembly;
  compiled ??= new Module(Buffer.from(HELD_SOURCE_KERNEL_WASM, 'base64'));
  const values = source.length;
  const bytes = (2 * values + SCRATCH_VALUES) * 4;
  const memory = new Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE_BYTES)) });
  const mix = (new Instance(compiled, { held: { memory } }).exports as { mix: Mix }).mix;
  const sourceByte = 0;
  const noiseByte = values * 4;
  const scratchByte = 2 * values * 4;
  const held = {
    source: new Float32Array(memory.buffer, sourceByte, values),
    noise: new Float32Array(memory.buffer, noiseByte, values),
  };
  held.source.set(source);
  drawNoise(held.noise);
  const scratch = new Float32Array(memory.buffer, scratchByte, SCRATCH_VALUES);
  // The scratch's first `count` values, one view per length: a step writes a stretch of held
  // cells per row and plane (1,500 at 512²), and a new view for each drove V8's incremental
  // marking, so the major GCs that both loops' latents call for fell in PIXELS' steps (11 a pass
  // against img2img's 1 in the engine bench; 6 and 6 with the views kept).
  const views = new Map<number, Float32Array>();
  const scratchOf = (count: number): Float32Array => {
    let view = views.get(count);
    if (!view) {
      view = scratch.subarray(0, count);
      if (views.size < MAX_SCRATCH_VIEWS) views.set(count, view);
    }
    return view;
  };
  return {
    ...held,
    writeInto(z, first, end, { signal, noise }) {
      // The kernel reads its memory unchecked: past S's end lies n_S.
      if (first < 0 || end > values || z.length !== values) {
        throw new Error(
          `HeldSource.writeInto: [${first}, ${end}) of a ${z.length}-value latent, the source has ${values}`,
        );
      }
      for (let start = first; start < end; start += SCRATCH_VALUES) {
        const count = Math.min(SCRATCH_VALUES, end - start);
        mix(sourceByte + start * 4, noiseByte + start * 4, scratchByte, count, signal, noise);
        z.set(scratchOf(count), start);
      }
    },
  };
}
