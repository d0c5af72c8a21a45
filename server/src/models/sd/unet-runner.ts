/**
 * Feeds the UNet as its export declares: timestep as a scalar or per row, int or float; SDXL's
 * text_embeds and time_ids; LCM's guidance embedding; and both guidance branches in one batch
 * (unconditional first, as diffusers) or one row at a time when the export fixes the batch at 1.
 */
import { PixelsError } from '@pixels/shared';
import type { PredictInput, PredictOutput } from '../../engine/model.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { REFERENCE_INPUT, SOURCE_INPUT } from '../exemplar-inputs.ts';
import type { Feed, ModelSession, ValueInfo } from '../onnx-runtime.ts';
import type { BranchConditioning, TextConditioning } from './text-conditioning.ts';

/**
 * LCM's guidance-scale embedding (diffusers `get_guidance_scale_embedding`): w = (guidance − 1)·1000,
 * sin and cos of w·10000^(−k/(half−1)) for k < half, zero-padded to an odd width.
 */
export function guidanceEmbedding(guidance: number, width: number): Float32Array {
  const scaled = (guidance - 1) * 1000;
  const half = Math.floor(width / 2);
  const step = Math.log(10000) / (half - 1);
  const embedding = new Float32Array(width);
  for (let k = 0; k < half; k++) {
    const angle = scaled * Math.exp(-k * step);
    embedding[k] = Math.sin(angle);
    embedding[half + k] = Math.cos(angle);
  }
  return embedding;
}

/**
 * SDXL micro-conditioning for an img2img edit at height x width pixels, no crop: the base model's
 * [orig_h, orig_w, crop_top, crop_left, target_h, target_w], the refiner's [orig_h, orig_w,
 * crop_top, crop_left, aesthetic_score].
 */
export function sdxlTimeIds(
  count: number,
  height: number,
  width: number,
  aestheticScore: number | undefined,
): number[] {
  if (count === 5) return [height, width, 0, 0, aestheticScore ?? 6];
  return [height, width, 0, 0, height, width];
}

/** The timestep as the UNet declares it: a scalar or one per batch row, float or int. */
export function timestepFeed(info: ValueInfo, timestep: number, batch: number): Feed {
  const isScalar = info.shape.length === 0;
  const shape = isScalar ? [] : [batch];
  const count = isScalar ? 1 : batch;
  const isInteger = info.type === 'int64' || info.type === 'int32';
  const value = isInteger ? Math.round(timestep) : timestep;
  const data = new Array<number>(count).fill(value);
  return isInteger ? { kind: 'int', data, shape } : { kind: 'float', tensor: { data: Float32Array.from(data), shape } };
}

/** Stacks [1, ...] tensors into [n, ...]. */
function stackRows(rows: readonly Tensor[]): Tensor {
  if (rows.length === 1) return rows[0];
  const size = rows[0].data.length;
  const data = new Float32Array(size * rows.length);
  for (const [index, row] of rows.entries()) data.set(row.data, index * size);
  return { data, shape: [rows.length, ...rows[0].shape.slice(1)] };
}

function rowOf(batch: Tensor, index: number): Tensor {
  const size = batch.data.length / batch.shape[0];
  return { data: batch.data.subarray(index * size, (index + 1) * size), shape: [1, ...batch.shape.slice(1)] };
}

export interface UnetRunnerOptions {
  pixelsPerLatent: number;
  timeIdCount: number;
  guidanceEmbeddingSize: number;
}

/** Runs one UNet; conditioning feeds are converted once per pass and reused at every step. */
export class UnetRunner {
  private readonly fixedBatch: number | undefined;
  private readonly names: Set<string>;
  private readonly timestepInfo: ValueInfo;
  private readonly outputName: string;
  /** Prepared conditioning feeds, keyed on the last branch of the batch, then by layout. */
  private readonly prepared = new WeakMap<BranchConditioning, Map<string, Record<string, Feed>>>();
  private readonly branchIds = new WeakMap<BranchConditioning, number>();
  private nextBranchId = 0;

  constructor(
    private readonly session: ModelSession,
    private readonly options: UnetRunnerOptions,
  ) {
    const sample = session.inputs.find((input) => input.name === 'sample')!;
    const batch = sample.shape[0];
    this.fixedBatch = typeof batch === 'number' && batch > 0 ? batch : undefined;
    this.names = new Set(session.inputs.map((input) => input.name));
    this.timestepInfo = session.inputs.find((input) => input.name === 'timestep')!;
    this.outputName = session.outputs.some((output) => output.name === 'out_sample')
      ? 'out_sample'
      : session.outputs[0].name;
  }

  private branchId(branch: BranchConditioning): number {
    let id = this.branchIds.get(branch);
    if (id === undefined) {
      id = this.nextBranchId++;
      this.branchIds.set(branch, id);
    }
    return id;
  }

  /** The batch's fixed feeds (hidden states, pooled, time ids, guidance embedding), converted once. */
  private conditioningFeeds(branches: readonly BranchConditioning[], height: number, width: number, guidance: number) {
    const anchor = branches[branches.length - 1];
    let byLayout = this.prepared.get(anchor);
    if (!byLayout) {
      byLayout = new Map();
      this.prepared.set(anchor, byLayout);
    }
    const key = `${branches.map((branch) => this.branchId(branch)).join(',')}:${height}x${width}:${guidance}`;
    const cached = byLayout.get(key);
    if (cached) return cached;
    const feeds: Record<string, Feed> = {};
    const prepare = (name: string, rows: Tensor[]) => {
      feeds[name] = this.session.prepare(name, { kind: 'float', tensor: stackRows(rows) });
    };
    const { timeIdCount, guidanceEmbeddingSize } = this.options;
    prepare(
      'encoder_hidden_states',
      branches.map((branch) => branch.hidden),
    );
    if (this.names.has('text_embeds')) {
      if (branches.some((branch) => !branch.pooled)) {
        throw new PixelsError(
          'model_error',
          `${this.session.path}: the UNet takes text_embeds, but the text encoders gave no pooled embedding; check "family" in pixels-model.json.`,
        );
      }
      prepare(
        'text_embeds',
        branches.map((branch) => branch.pooled!),
      );
    }
    if (this.names.has('time_ids')) {
      const rows = branches.map((branch) =>
        Float32Array.from(sdxlTimeIds(timeIdCount, height, width, branch.aestheticScore)),
      );
      prepare(
        'time_ids',
        rows.map((data) => ({ data, shape: [1, data.length] })),
      );
    }
    if (this.names.has('timestep_cond')) {
      const data = guidanceEmbedding(guidance, guidanceEmbeddingSize);
      prepare(
        'timestep_cond',
        branches.map(() => ({ data, shape: [1, data.length] })),
      );
    }
    byLayout.set(key, feeds);
    return feeds;
  }

  /** One UNet evaluation over the given branches (one row each); returns [rows, C, h, w]. */
  private async runRows(input: PredictInput, branches: readonly BranchConditioning[]): Promise<Tensor> {
    const [, , latentHeight, latentWidth] = input.sample.shape;
    const height = latentHeight * this.options.pixelsPerLatent;
    const width = latentWidth * this.options.pixelsPerLatent;
    const rows = branches.length;
    const feeds: Record<string, Feed> = {
      ...this.conditioningFeeds(branches, height, width, input.guidance),
      sample: { kind: 'float', tensor: stackRows(new Array(rows).fill(input.sample)) },
      timestep: timestepFeed(this.timestepInfo, input.timestep, rows),
    };
    if (this.names.has(REFERENCE_INPUT)) {
      feeds[REFERENCE_INPUT] = { kind: 'float', tensor: stackRows(new Array(rows).fill(input.reference)) };
    }
    if (this.names.has(SOURCE_INPUT)) {
      // Models that declare the source get the loop's own clean source; plain img2img has no other.
      const source = input.source ?? input.reference;
      feeds[SOURCE_INPUT] = { kind: 'float', tensor: stackRows(new Array(rows).fill(source)) };
    }
    const outputs = await this.session.run(feeds);
    return outputs[this.outputName];
  }

  /** The raw model output for one or both guidance branches. */
  async predict(input: PredictInput): Promise<PredictOutput> {
    const conditioning = input.conditioning as TextConditioning;
    const both = input.branches === 'both' && conditioning.unconditional !== undefined;
    const branches = both ? [conditioning.unconditional!, conditioning.conditional] : [conditioning.conditional];
    const fixed = this.fixedBatch;
    let output: Tensor;
    if (fixed === undefined || fixed === branches.length) output = await this.runRows(input, branches);
    else if (fixed === 1) {
      const rows: Tensor[] = [];
      for (const branch of branches) rows.push(await this.runRows(input, [branch]));
      output = stackRows(rows);
    } else if (fixed === 2 && branches.length === 1)
      output = rowOf(await this.runRows(input, [branches[0], branches[0]]), 0);
    else {
      throw new PixelsError(
        'model_error',
        `${this.session.path}: the UNet was exported with a fixed batch of ${fixed}; PIXELS runs 1 or 2 rows. Re-export it with a dynamic batch axis.`,
      );
    }
    if (!both) return { conditional: rowOf(output, 0) };
    return { unconditional: rowOf(output, 0), conditional: rowOf(output, 1) };
  }
}
