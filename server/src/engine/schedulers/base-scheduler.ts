import type { NoiseScales, NoiseSource, Scheduler, SchedulerName, SchedulerStepOutput } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { addNoiseAtScales, alphaNoiseScales } from './schedule-math.ts';
import { type ResolvedSchedulerConfig, trainingAlphasCumprod } from './scheduler-config.ts';
import { checkScheduleIndex, checkStepCount, checkTimestepsInRange } from './step-checks.ts';

/**
 * What every scheduler shares (diffusers' `SchedulerMixin` part): the training noise schedule, the
 * schedule's life cycle, unscaled model input, DDPM's forward diffusion and `addNoise` from
 * `noiseScales`. An algorithm file adds its tables, its timestep layout and its `step`.
 */
export abstract class BaseScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  abstract readonly initNoiseSigma: number;
  /** alpha-bar_t for every training timestep t. */
  protected readonly alphasCumprod: Float64Array;
  protected schedule: readonly number[] = [];
  private scratch = new Float64Array(0);

  constructor(readonly config: ResolvedSchedulerConfig) {
    this.alphasCumprod = trainingAlphasCumprod(config);
  }

  get timesteps(): readonly number[] {
    return this.schedule;
  }

  /** The most inference steps a schedule may have: T unless the algorithm has its own grid. */
  protected get maxStepCount(): number {
    return this.config.num_train_timesteps;
  }

  /** The `count` timesteps of a new schedule, noisiest first. */
  protected abstract layOutTimesteps(count: number): number[];

  /** Rebuilds the per-schedule tables and forgets every earlier step (nothing to do by default). */
  protected resetState(): void {}

  /** alpha-bar at `timestep`; past timestep 0 (negative), 1 with set_alpha_to_one, else alpha-bar_0. */
  protected alphaCumprodAt(timestep: number): number {
    if (timestep >= 0) return this.alphasCumprod[timestep];
    return this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  /** A float64 buffer of `length` values, reused from step to step (its contents are not kept). */
  protected scratchBuffer(length: number): Float64Array {
    if (this.scratch.length !== length) this.scratch = new Float64Array(length);
    return this.scratch;
  }

  setTimesteps(count: number): void {
    checkStepCount(this.name, count, this.maxStepCount);
    const schedule = this.layOutTimesteps(count);
    checkTimestepsInRange(this.name, schedule, this.config.num_train_timesteps);
    this.schedule = schedule;
    this.resetState();
  }

  scaleModelInput(sample: Tensor, index: number): Tensor {
    checkScheduleIndex(this.name, this.schedule, index);
    return sample;
  }

  abstract step(modelOutput: Tensor, index: number, sample: Tensor, noise: NoiseSource): SchedulerStepOutput;

  /** DDPM's forward diffusion at the schedule's timestep (the variance-exploding Euler family overrides it). */
  noiseScales(index: number): NoiseScales {
    checkScheduleIndex(this.name, this.schedule, index);
    return alphaNoiseScales(this.alphasCumprod[this.schedule[index]]);
  }

  addNoise(clean: Tensor, noise: Tensor, index: number): Tensor {
    return addNoiseAtScales(clean, noise, this.noiseScales(index));
  }
}
