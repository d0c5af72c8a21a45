import type { ModelSummary } from '@pixels/shared';
import type { LatentRgbProjection } from './latent-preview.ts';
import type { SchedulerConfig } from './scheduler.ts';
import type { Tensor } from './tensor.ts';

/** Text conditioning, opaque to the engine: the adapter that made it reads it back. */
export interface Conditioning {
  /** Whether an unconditional (negative prompt) branch exists for classifier-free guidance. */
  readonly hasUnconditional: boolean;
}

/** What the engine needs to know about a model; read from its configs and graphs. */
export interface ModelInfo extends ModelSummary {
  latentChannels: number;
  /** Image pixels per latent cell along each side. */
  vaeScaleFactor: number;
  schedulerConfig: SchedulerConfig;
  /** 'classifier-free': two branches mixed by the guidance scale; 'embedded' (LCM): the scale is a model input; 'none' (Turbo). */
  guidanceMode: 'classifier-free' | 'embedded' | 'none';
  /** Latent → RGB for step previews; absent when no projection fits (previews then decode). */
  latentPreview?: LatentRgbProjection;
}

export interface PredictInput {
  /** The scheduler-scaled latent [1, C, h, w]. */
  sample: Tensor;
  timestep: number;
  conditioning: Conditioning;
  /** The guidance scale (ignored unless guidanceMode is 'embedded'). */
  guidance: number;
  /**
   * The clean surgical composite [1, C, h, w]; fed to models that declare a `reference_sample`
   * input (the built-in model conditions on the request's own images), ignored by others.
   */
  reference: Tensor;
  /**
   * The clean source latent S [1, C, h, w]; fed to models that declare a `source_sample` input, so
   * an image-conditioned model can weigh the source against the layers (the reference) itself.
   */
  source?: Tensor;
  /** Which branches to compute. */
  branches: 'conditional' | 'both';
}

export interface PredictOutput {
  conditional: Tensor;
  unconditional?: Tensor;
}

/** The model interface: the engine talks only to this. */
export interface DiffusionModel {
  readonly info: ModelInfo;
  /** Image [1, 3, H, W] in [-1, 1] → scaled latent [1, C, H/f, W/f] (the distribution's mean). */
  encodeImage(image: Tensor): Promise<Tensor>;
  /** Scaled latent → image [1, 3, H, W] in [-1, 1]. */
  decodeLatent(latent: Tensor): Promise<Tensor>;
  /** Encodes prompt and negative prompt; `withUnconditional` asks for the negative branch too. */
  encodePrompt(prompt: string, negativePrompt: string, withUnconditional: boolean): Promise<Conditioning>;
  /** The raw model output (ε, v or x0 per `schedulerConfig.prediction_type`). */
  predict(input: PredictInput): Promise<PredictOutput>;
}
